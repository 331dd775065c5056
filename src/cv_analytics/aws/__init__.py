"""Adapters between the domain and AWS services (boto3). Clients are injected or built lazily."""
