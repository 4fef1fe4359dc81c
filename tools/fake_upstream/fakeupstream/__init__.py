"""The fake upstream server's modules; `tools/fake_upstream/server.py` is the entry point.

  texts.py           the default answers (DEFAULT_TEXT), the Gemini thought text, the 502 page
  state.py           state shared by all requests: records, `times` counters, Files API uploads
  behavior.py        the behaviour syntax (`--help-behavior`): parsing, scopes, `times=N`
  formats.py         JSON encodings, ids, timestamps, token estimates, answer pieces
  writes.py          write patterns: splitting, coalescing, stalls and cuts on the chunked body
  handler.py         the HTTP handler (body reading, recording, routing) and the server class
  openai_api.py      OpenAI Chat Completions
  gemini_api.py      Gemini generateContent / streamGenerateContent
  gemini_files.py    the Gemini Files API (resumable upload, polling, delete)
  twelvelabs_api.py  TwelveLabs analyze and video retrieval
  twelvelabs_assets.py  TwelveLabs direct uploads: POST /v1.3/assets, GET|DELETE /v1.3/assets/{id}
  multipart.py       multipart/form-data parsing without copying the body
  control.py         the test helpers: /media/ and /_fake/
"""
