"""What the test tiers share, one module per concern; the tests and their fixtures import it.

- ``events``: the stored event JSON and event and record builders
- ``network``: free loopback ports
- ``stack``: queues and tables of a provisioned stack (the ``stack`` fixture)
- ``ingest``: the ingest API's test key
- ``faults``: child processes and the fault proxy, for the fault-injection tier
- ``docker_daemon``: skip (or, where Docker is required, fail) without a daemon or an image
- ``dockerfiles``: Dockerfiles and .dockerignore read without a daemon
- ``containers``: the container tier: function emulators, images, emulator identity
- ``compose``: a docker-compose.yml project under test
- ``emulator_probe``: pytest plugin naming the emulator a LocalStack run used
- ``terraform``: infra/terraform read as data

Test doubles that users of the kit may want too (``FakeSqs``, ``FaultProxy``) ship in
``cv_analytics.testing`` instead.
"""
