"""Events: what changed about an image, told to the app (issue 18).

The table is the outbox: every committed change to an image record reaches
the stream consumer, which derives at most one event from it (`changes`),
puts it on the stage's EventBridge bus and queues a signed webhook delivery
for every webhook that may hear it. Use-cases never publish inline.

    vocabulary   the event types (a StrEnum, like domain states)
    changes      a DynamoDB stream record -> an Event: stable id, thin payload
    signing      Standard Webhooks secrets and signatures (whsec_, v1,)
    destinations where a webhook may point: the SSRF rules, checked at
                 registration and again at delivery
    sender       one signed POST to the checked address: no redirects, 15 s
    schedule     the retry schedule and the SQS hops that wait it out

Nothing here touches AWS at import time; only `sender` opens sockets.
"""
