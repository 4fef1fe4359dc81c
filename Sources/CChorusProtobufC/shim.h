// Exposes the protobuf-c runtime to Swift. Only ChorusWire imports this module.
#pragma once
#include <protobuf-c/protobuf-c.h>

#include <stdint.h>
#include <stdlib.h>

// A bump allocator over caller-provided scratch memory (on the Swift stack) for unpacking small
// messages: no malloc/free per field on the hot path. Requests that do not fit fall back to
// malloc and are counted, so the caller knows whether free_unpacked is still needed.
typedef struct {
    uint8_t *base;
    size_t capacity;
    size_t used;
    size_t fallbacks;
} chorus_scratch;

static inline void *chorus_scratch_alloc(void *data, size_t size) {
    chorus_scratch *scratch = (chorus_scratch *)data;
    size_t start = (scratch->used + 15u) & ~(size_t)15u;
    if (start <= scratch->capacity && size <= scratch->capacity - start) {
        scratch->used = start + size;
        return scratch->base + start;
    }
    scratch->fallbacks += 1;
    return malloc(size);
}

static inline void chorus_scratch_free(void *data, void *pointer) {
    chorus_scratch *scratch = (chorus_scratch *)data;
    uint8_t *p = (uint8_t *)pointer;
    if (p >= scratch->base && p < scratch->base + scratch->capacity) return;
    free(pointer);
}

static inline ProtobufCAllocator chorus_scratch_allocator(chorus_scratch *scratch) {
    ProtobufCAllocator allocator = { chorus_scratch_alloc, chorus_scratch_free, scratch };
    return allocator;
}
