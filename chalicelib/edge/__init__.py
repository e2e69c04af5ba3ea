"""The HTTP edge: the route registrar and the one mapping of domain errors to
statuses, input validation, CORS, the contract, request logging, and the web app's
files. The only layer (with auth.gateway) that knows Chalice."""
