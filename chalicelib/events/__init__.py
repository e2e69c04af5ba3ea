"""Events: the table's stream turned into events on EventBridge and signed
webhooks (issue 18)."""
