"""Each queue is bound under its own routing key, so a message sent through the exchange by key lands in
exactly one queue (issue 17.3). Checked on a real Redis with kombu's own producer, the way any AMQP-minded
tool (Flower's "send task", a bridge, `celery call --routing-key`) would send."""
from __future__ import annotations

import pytest
from kombu import Connection, Queue

from worker.app import QUEUES, create_app
from worker.settings import load_settings


def _drain(queue: Queue) -> int:
    """Messages taken off the queue (the Redis transport has no passive declare for an empty queue)."""
    taken = 0
    while queue.get(no_ack=True) is not None:
        taken += 1
    return taken


@pytest.mark.parametrize("key", QUEUES)
def test_a_message_sent_by_routing_key_lands_in_that_queue_alone(redis_url: str, redis_key_prefix: str,
                                                                  key: str) -> None:
    app = create_app(load_settings({"REDIS_URL": redis_url, "SYNDICATION_REDIS_KEY_PREFIX": redis_key_prefix}))
    queues = dict(app.amqp.queues)  # what a worker declares: the configured queues with celery's defaults applied
    assert set(queues) == set(QUEUES)
    with Connection(redis_url, transport_options=app.conf.broker_transport_options) as connection:
        channel = connection.channel()
        bound = {name: queue(channel) for name, queue in queues.items()}
        for queue in bound.values():
            queue.declare()
        exchanges = {queue.exchange.name for queue in queues.values()}
        assert len(exchanges) == 1, "one exchange routes to every queue"
        producer = connection.Producer(channel)
        producer.publish({"probe": key}, exchange=queues[key].exchange, routing_key=key, serializer="json")
        counts = {name: _drain(queue) for name, queue in bound.items()}
    assert counts == {name: int(name == key) for name in QUEUES}


def test_tasks_are_routed_by_their_queues_own_keys() -> None:
    app = create_app(load_settings({}))
    keys = {name: queue.routing_key for name, queue in app.amqp.queues.items()}
    assert keys == {name: name for name in QUEUES}
    assert app.conf.task_default_routing_key == app.conf.task_default_queue == "ingest"
