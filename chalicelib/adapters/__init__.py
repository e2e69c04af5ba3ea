"""Adapters: the only modules that know AWS (DynamoDB, S3, Secrets Manager). They
never call use-cases."""
