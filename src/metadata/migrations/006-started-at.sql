-- When the current attempt of a generation started: set at insert and again when a new run restarts an ended
-- record (created_at stays the first attempt's), so /metrics can tell the age of the oldest generation in flight.
-- No index of its own: the gauges read the few active rows through generations_status_newest (005), which
-- bench/metrics-scrape-benchmark.ts shows is enough at 100,000 records.
ALTER TABLE generations ADD COLUMN started_at timestamptz;
UPDATE generations SET started_at = created_at;
ALTER TABLE generations ALTER COLUMN started_at SET DEFAULT now();
ALTER TABLE generations ALTER COLUMN started_at SET NOT NULL;
