// Exposes the protobuf-c runtime to Swift. Only ChorusWire imports this module.
#pragma once
#include <protobuf-c/protobuf-c.h>
