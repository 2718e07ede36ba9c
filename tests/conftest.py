pytest_plugins = ["tests.plugins.database", "tests.plugins.redis_server", "tests.plugins.celery_worker",
                  "tests.plugins.wordpress", "tests.plugins.browser", "tests.plugins.promtool"]
