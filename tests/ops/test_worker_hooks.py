import dramatiq


def test_an_idle_worker_looks_at_its_queues_every_tenth_of_a_second(settings, transactional_db, empty_broker):
    import studio.jobs.actors  # noqa: F401  (declares the queue)

    settings.WORKER_IDLE_POLL_MS = 100
    worker = dramatiq.Worker(empty_broker, worker_threads=1, worker_timeout=1000)
    worker.start()
    try:
        assert worker.worker_timeout == 100
        assert worker.consumers and all(c.worker_timeout == 100 for c in worker.consumers.values())
    finally:
        worker.stop()


def test_a_worker_asked_for_a_shorter_wait_keeps_it(settings, transactional_db, empty_broker):
    import studio.jobs.actors  # noqa: F401

    settings.WORKER_IDLE_POLL_MS = 100
    worker = dramatiq.Worker(empty_broker, worker_threads=1, worker_timeout=20)
    worker.start()
    try:
        assert worker.worker_timeout == 20
    finally:
        worker.stop()
