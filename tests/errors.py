"""Assertions on the one error shape every 4xx/5xx uses (DESIGN.md §4)."""


def assert_error(response, status: int, code: str | None = None, attr: str | None = "ANY", type_: str | None = None):
    """Assert ``response`` is ``status`` in the error shape; return its first error."""
    assert response.status_code == status, (response.status_code, getattr(response, "content", b"")[:500])
    body = response.json()
    assert set(body) == {"type", "errors"}
    expected_type = type_ or ("server_error" if status >= 500 else None)
    if expected_type:
        assert body["type"] == expected_type
    else:
        assert body["type"] in {"client_error", "validation_error"}
    assert isinstance(body["errors"], list)
    assert body["errors"]
    for error in body["errors"]:
        assert set(error) == {"code", "detail", "attr"}
        assert isinstance(error["code"], str)
        assert isinstance(error["detail"], str)
        assert error["attr"] is None or isinstance(error["attr"], str)
    first = body["errors"][0]
    if code is not None:
        assert first["code"] == code, body
    if attr != "ANY":
        assert first["attr"] == attr, body
    return first
