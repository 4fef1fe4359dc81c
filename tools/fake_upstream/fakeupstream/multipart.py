"""multipart/form-data parsing (RFC 7578) for uploads, standard library only and without copying
the body: each part's content is a memoryview slice of the one request body, so a 200 MB file
costs one bytes.find pass over the body and no second copy."""

import email.message
import email.utils


class Part:
    """One form part: `name`, `filename` (None when the part has none), `content_type` (None
    when not given), `headers` (lower-case names), and `data`, a memoryview of the body from
    offset `start` to `end`."""

    def __init__(self, headers, body, start, end):
        self.headers, self.start, self.end = headers, start, end
        self.data = body[start:end]
        disp = email.message.Message()
        disp["Content-Disposition"] = headers.get("content-disposition", "")
        name = disp.get_param("name", header="content-disposition")
        self.name = email.utils.collapse_rfc2231_value(name) if name is not None else None
        self.filename = disp.get_filename()
        self.content_type = headers.get("content-type")

    def text(self):
        return bytes(self.data).decode("utf-8", "replace")


def form_boundary(content_type):
    """The boundary of a `multipart/form-data` Content-Type, or None."""
    if not content_type:
        return None
    msg = email.message.Message()
    msg["Content-Type"] = content_type
    if msg.get_content_type() != "multipart/form-data":
        return None
    boundary = msg.get_param("boundary")
    if isinstance(boundary, tuple):
        boundary = email.utils.collapse_rfc2231_value(boundary)
    return boundary or None


def parse_form(raw, content_type):
    """The parts of a multipart/form-data body, in order. Raises ValueError with a short reason
    when the body is not multipart/form-data or is malformed."""
    boundary = form_boundary(content_type)
    if boundary is None:
        raise ValueError("The request must be sent as multipart/form-data with a boundary.")
    delim = b"--" + boundary.encode("latin-1", "replace")
    body = memoryview(raw)
    # The first delimiter may open the body or follow a preamble line.
    pos = 0 if raw.startswith(delim) else raw.find(b"\r\n" + delim)
    if pos < 0:
        raise ValueError("The multipart body has no boundary line.")
    if pos > 0:
        pos += 2
    parts = []
    while True:
        pos += len(delim)
        if raw[pos:pos + 2] == b"--":
            return parts                                  # the close delimiter
        eol = raw.find(b"\r\n", pos)                      # skip transport padding
        if eol < 0 or raw[pos:eol].strip(b" \t"):
            raise ValueError("The multipart body has a malformed boundary line.")
        if raw.startswith(b"\r\n", eol + 2):
            head_end = eol + 2                            # a part without headers
        else:
            head_end = raw.find(b"\r\n\r\n", eol + 2)
            if head_end < 0:
                raise ValueError("A multipart part has no end of headers.")
            head_end += 2
        headers = {}
        for line in raw[eol + 2:head_end].decode("utf-8", "replace").split("\r\n"):
            key, sep, value = line.partition(":")
            if sep:
                headers[key.strip().lower()] = value.strip()
        start = head_end + 2
        end = raw.find(b"\r\n" + delim, start)
        if end < 0:
            raise ValueError("The multipart body ends without its closing boundary.")
        parts.append(Part(headers, body, start, end))
        pos = end + 2
