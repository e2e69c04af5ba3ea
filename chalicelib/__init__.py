"""imgstore's logic. Everything in this package ships to Lambda.

Data moves one way: routes and handlers (app.py) -> use-cases (service, ingest)
-> adapters (store, blobs) and imaging. Nothing here touches AWS or reads the
environment at import time.
"""
