-- Which source answered a request (issue 18): the response's `source` ("warehouse",
-- "rollup:NAME", "metrics_api:NAME", "catalog", "catalog+warehouse", …) and its `source_note`
-- (why a Metrics API did not answer, when one was asked first), so that an answer that seemed
-- off can be traced to what produced it. Both stay NULL on older rows, and a row's hash covers
-- them only when they are set, so the chain of rows written before this migration still
-- verifies.
ALTER TABLE audit ADD COLUMN source TEXT;
ALTER TABLE audit ADD COLUMN source_note TEXT;
