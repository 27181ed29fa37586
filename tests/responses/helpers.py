"""Reading the resident form the way a browser would."""

import re

NONCE = re.compile(r'name="nonce" value="([^"]+)"')


def nonce_of(page: bytes | str) -> str:
    """The nonce hidden in a rendered form."""
    text = page.decode() if isinstance(page, bytes) else page
    return NONCE.search(text).group(1)


def open_form(client, token: str) -> str:
    """GET the form and return its nonce."""
    page = client.get(f"/s/{token}")
    assert page.status_code == 200
    return nonce_of(page.data)


def answer(client, token: str, nonce: str | None = None, **fields):
    """POST the form with ``fields`` (``overall=5`` becomes ``q.overall=5``)."""
    nonce = nonce if nonce is not None else open_form(client, token)
    data = {"nonce": nonce}
    for key, value in fields.items():
        data[key if key == "comment" else f"q.{key}"] = value
    return client.post(f"/s/{token}", data=data)
