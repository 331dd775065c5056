"""The ingest API: accepts the chatbot's analytics events and queues them, fire-and-forget."""
