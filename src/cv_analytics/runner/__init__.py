"""The event-source runner: plays Lambda's SQS event source mapping and EventBridge schedule
for emulators that cannot (moto; free LocalStack with image functions)."""
