-- What a submit sent and how the render went, for the poll schedule's learned render time and for operators.
ALTER TABLE generations ADD COLUMN resolution text;
ALTER TABLE generations ADD COLUMN duration_s integer;
-- How the reference image reached the provider: url, presigned, data-uri or upload.
ALTER TABLE generations ADD COLUMN image_delivery text;
-- Provider time from scheduled to end, promoted from the result.
ALTER TABLE generations ADD COLUMN render_ms integer;

CREATE INDEX generations_recent_renders ON generations (resolution, completed_at DESC)
  WHERE status = 'succeeded' AND render_ms IS NOT NULL;
