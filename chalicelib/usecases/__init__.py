"""The use-cases: the API's (`api`) and the S3 events' (`s3_events`), which share the
record's lifecycle (`lifecycle`) and neither imports the other. They work through the
ports in `ports`; `chalicelib.bootstrap` gives them real adapters."""
