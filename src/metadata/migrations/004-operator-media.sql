-- Operator media: where the poster made beside each video and the stored copy of the reference image live, as object
-- keys of the stage's store (`posters/<video base name>.webp`, `images/<sha256>.<ext>`). Both are NULL until known.
-- Existing rows get theirs from `video-gen posters --backfill`: the poster must be made, and the image's extension
-- (the format it was stored in, after any conform crop) is not in the record, so the command finds it in the store.
ALTER TABLE generations ADD COLUMN poster_key text;
ALTER TABLE generations ADD COLUMN image_key text;

-- The backfill's listings, newest first: succeeded records still without a poster, records without an image key.
CREATE INDEX generations_without_poster ON generations (created_at DESC, generation_id DESC)
  WHERE status = 'succeeded' AND poster_key IS NULL;
CREATE INDEX generations_without_image_key ON generations (created_at DESC, generation_id DESC)
  WHERE image_key IS NULL AND image_sha256 IS NOT NULL;
