"""Reading a DynamoDB stream as Lambda's event source mapping does.

`StreamReader.read()` answers the records written since the last read, shaped
as Lambda hands them to an `@app.on_dynamodb_record` handler (epoch seconds
for `ApproximateCreationDateTime`, `eventSource` and `eventSourceARN`), and
`rewind(sequence_number)` starts the next read again at a record, as Lambda
does after a batch-item failure. The local stack's event bridge and the
tests use it; nothing here ships to Lambda.

moto serves the stream at the classic endpoint only: botocore's account-based
endpoints (`{account}.streams-ddb...`) are switched off for this client.
"""

from __future__ import annotations

from typing import Any


def stream_client():
    import boto3
    from botocore.config import Config

    return boto3.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled"))


def stream_arn(dynamodb, table: str) -> str:
    arn = dynamodb.describe_table(TableName=table)["Table"].get("LatestStreamArn")
    if not arn:
        raise RuntimeError(f"table {table} has no stream: scripts/bootstrap.py enables it")
    return arn


def lambda_record(record: dict[str, Any], arn: str) -> dict[str, Any]:
    """A record from GetRecords as Lambda's event source mapping delivers it."""
    images = dict(record["dynamodb"])
    when = images.get("ApproximateCreationDateTime")
    if when is not None and hasattr(when, "timestamp"):
        images["ApproximateCreationDateTime"] = int(when.timestamp())
    return {
        "eventID": record.get("eventID"),
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion", "us-east-1"),
        "dynamodb": images,
        "eventSourceARN": arn,
    }


class StreamReader:
    def __init__(self, client, arn: str, start: str = "TRIM_HORIZON"):
        self.client = client
        self.arn = arn
        self._iterators: dict[str, str | None] = {}
        for shard in client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            self._iterators[shard["ShardId"]] = client.get_shard_iterator(
                StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType=start
            )["ShardIterator"]
        self._held: list[dict[str, Any]] = []
        self._last: list[dict[str, Any]] = []

    def read(self, limit: int = 100) -> list[dict[str, Any]]:
        """Records not yet handed out (or handed back with `rewind`), oldest first."""
        for shard, iterator in self._iterators.items():
            if iterator is None:
                continue
            answer = self.client.get_records(ShardIterator=iterator, Limit=1000)
            self._held += [lambda_record(r, self.arn) for r in answer["Records"]]
            self._iterators[shard] = answer.get("NextShardIterator")
        batch, self._held = self._held[:limit], self._held[limit:]
        self._last = batch
        return batch

    def rewind(self, sequence_number: str) -> None:
        """Hand the last batch back from `sequence_number` on (a batch-item failure)."""
        numbers = [r["dynamodb"]["SequenceNumber"] for r in self._last]
        self._held = self._last[numbers.index(sequence_number) :] + self._held
        self._last = []
