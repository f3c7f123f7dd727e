"""Drives rabbitmq-server with pika: declarations, publishes with properties, basic.get,
a consumer's deliveries acked and nacked, and a channel closed by the server with an error.
Prints one line per step so a failure shows where it stopped."""
import sys

import pika

host = sys.argv[1]
params = pika.ConnectionParameters(host=host, credentials=pika.PlainCredentials("guest", "guest"))
connection = pika.BlockingConnection(params)
channel = connection.channel()
channel.exchange_declare(exchange="orders", exchange_type="direct", durable=False)
channel.queue_declare(queue="orders.new", durable=False)
channel.queue_bind(queue="orders.new", exchange="orders", routing_key="new")
props = pika.BasicProperties(content_type="application/json", delivery_mode=2,
                             correlation_id="c-42", message_id="m-1", headers={"tenant": "acme"})
channel.basic_publish(exchange="orders", routing_key="new", body=b'{"id":1,"item":"book"}', properties=props)
channel.basic_publish(exchange="orders", routing_key="new", body=b'{"id":2,"item":"pen"}',
                      properties=pika.BasicProperties(content_type="application/json"))
channel.basic_publish(exchange="", routing_key="orders.new", body=b"plain text three")
print("published 3")
method, _, body = channel.basic_get(queue="orders.new", auto_ack=False)
channel.basic_ack(delivery_tag=method.delivery_tag)
print("got", body.decode())
delivered = []
for method, _, body in channel.consume(queue="orders.new", inactivity_timeout=2):
    if method is None:
        break
    if len(delivered) == 0:
        channel.basic_ack(delivery_tag=method.delivery_tag)
    else:
        channel.basic_nack(delivery_tag=method.delivery_tag, requeue=False)
    delivered.append(body)
    if len(delivered) == 2:
        break
channel.cancel()
print("delivered", len(delivered))
method, _, _ = channel.basic_get(queue="orders.new")
print("empty", method is None)
try:
    channel.queue_declare(queue="no.such.queue", passive=True)
except pika.exceptions.ChannelClosedByBroker as e:
    print("closed", e.reply_code, e.reply_text)
connection.close()
print("done")
