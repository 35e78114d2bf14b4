#pragma once
// Where wolfSSL's memory comes from (issue 7: resident memory per idle session).
//
// Debian's wolfSSL (SESSION_CERTS, WOLFSSL_ALT_CERT_CHAINS) gives every WOLFSSL object a
// 37.5 KB WOLFSSL_SESSION, zero-filled at creation. 36 KB of it are two fixed arrays for the
// peer's certificate chain (9 certificates of 2 KB each, twice), which a server that asks for
// no client certificate never writes: they stay zero for the life of the connection, yet the
// memset made every page resident. That alone is more than the per-session budget.
//
// So wolfSSL's allocations go through us: blocks of kOwnMappingMin bytes and more get their own
// anonymous mapping (page-aligned, given back to the kernel by free instead of fragmenting the
// heap), and once a handshake is over release_zero_pages() returns the all-zero pages of the
// session object to the kernel. That is invisible to wolfSSL: a released page reads as zeros,
// exactly what it held, and a later write faults a fresh zero page in.

#include <cstddef>

namespace ocm::ctrl {

// Blocks at least this big get their own mapping. Below it the page rounding would waste more
// than it saves; every per-session block above it is a WOLFSSL_SESSION (37,512 bytes here).
inline constexpr size_t kOwnMappingMin = 16 * 1024;

// Routes wolfSSL's malloc/free/realloc through this file. Idempotent and thread-safe; call it
// before wolfSSL_Init (blocks allocated earlier are still freed correctly, by malloc's free).
void install_tls_allocators();

// Gives the kernel back every whole page of `block` that holds only zeros, if `block` is the
// start of a block from our own mappings; returns the bytes released (0 for any other pointer,
// including nullptr). Only for memory no other thread touches meanwhile: a wolfSSL object is
// used by the loop thread alone.
size_t release_zero_pages(void* block);

// Blocks currently in their own mappings (tests, and a leak check: returns to its start value
// when every connection is gone).
size_t tls_own_mapping_blocks();

// Exposed for unit tests; wolfSSL calls them through install_tls_allocators().
void* tls_malloc(size_t size);
void tls_free(void* ptr);
void* tls_realloc(void* ptr, size_t size);

}  // namespace ocm::ctrl
