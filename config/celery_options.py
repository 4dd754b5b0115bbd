"""Broker transport options per broker type: every network wait is finite."""

from pathlib import Path


def broker_transport_options(url: str, *, var_dir: Path, socket_timeout: float, hard_time_limit: int) -> dict:
    scheme = url.split("://", 1)[0]
    if scheme == "filesystem":
        broker_dir = var_dir / "broker"
        for folder in ("out", "processed", "control"):
            (broker_dir / folder).mkdir(parents=True, exist_ok=True)
        return {
            "data_folder_in": str(broker_dir / "out"),
            "data_folder_out": str(broker_dir / "out"),
            "processed_folder": str(broker_dir / "processed"),
            # The exchange tables; kombu's default is ./control, which put broker state in the
            # work tree (rewritten by every `make run`).
            "control_folder": str(broker_dir / "control"),
            "store_processed": False,
            # The embedded demo should feel instant; the default poll is once a second.
            "polling_interval": 0.1,
        }
    if scheme in ("redis", "rediss"):
        return {
            # Redis re-delivers an unacknowledged (acks_late) task after this; it must exceed
            # the hard time limit or a long task would run twice.
            "visibility_timeout": hard_time_limit * 2 + 60,
            "socket_timeout": socket_timeout,
            "socket_connect_timeout": socket_timeout,
            "retry_on_timeout": False,
        }
    if scheme in ("amqp", "pyamqp", "amqps"):
        # connect_timeout comes from broker_connection_timeout; a publish to a stalled broker
        # must not block a web request forever.
        return {"write_timeout": socket_timeout}
    return {}
