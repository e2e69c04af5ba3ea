"""The local stack behind `make run`: imgstore on loopback, no AWS account.

    server.py     moto in server mode (S3, DynamoDB, SQS) bound to loopback
    moto_fixes.py two habits of moto's models that do not scale, fixed
    bridge.py     runs the app's @app.on_s3_event handlers from the bucket's
                  notifications queue, as Lambda would (chalice local cannot)
    processes.py  the stack's child processes: labelled output, orderly stop
    snapshot.py   keeps the bucket and table across restarts
    runner.py     `python -m devstack`: starts all of it, prints how to use it
    background.py the whole stack as one background process (tests, load, newman)
    load.py       `make load`: a bounded load run that checks nothing is lost

Never shipped to Lambda (Chalice packages only app.py and chalicelib/), and
chalicelib never imports from here.
"""
