"""A dependency-free Chorus RPC client, written from proto/PROTOCOL.md and the .proto files.

Modules: ``protocol`` (constants, frame header), ``protobuf`` (the wire format by hand, message
schemas, request encoders), ``connection`` (preface, frames, PING, GOAWAY), ``hexdump`` (annotated
dump of an exchange), ``call`` (one call and the Analyze stream contract), ``cli`` (the command
line; ``tools/raw_client.py`` runs it).
"""
