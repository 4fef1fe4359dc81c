// libcurl for Swift. `curl_easy_setopt` and `curl_easy_getinfo` are variadic, which Swift cannot
// call, so each argument type gets a typed wrapper (the same for `curl_share_setopt` below). Only
// ChorusCurl imports this module.
#pragma once
#include <curl/curl.h>

typedef size_t (*CChorusCurl_data_callback)(char *data, size_t size, size_t count, void *user);
typedef int (*CChorusCurl_xferinfo_callback)(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow);

static inline CURLcode CChorusCurl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode CChorusCurl_setopt_off(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode CChorusCurl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode CChorusCurl_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode CChorusCurl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode CChorusCurl_setopt_data_callback(CURL *handle, CURLoption option, CChorusCurl_data_callback value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode CChorusCurl_setopt_xferinfo_callback(CURL *handle, CChorusCurl_xferinfo_callback value) {
    return curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, value);
}

static inline CURLcode CChorusCurl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode CChorusCurl_getinfo_double(CURL *handle, CURLINFO info, double *value) {
    return curl_easy_getinfo(handle, info, value);
}

// MARK: - Multi handles

static inline CURLMcode CChorusCurl_multi_setopt_long(CURLM *multi, CURLMoption option, long value) {
    return curl_multi_setopt(multi, option, value);
}

/// Continues a transfer paused by its write callback (`CURLPAUSE_CONT` is a composite macro Swift
/// cannot import). Only on the thread driving the transfer's multi handle.
static inline CURLcode CChorusCurl_unpause(CURL *handle) {
    return curl_easy_pause(handle, CURLPAUSE_CONT);
}

// MARK: - Share handles
//
// A share used by transfers on several threads needs lock callbacks. Each share gets its own
// block of mutexes, one per `curl_lock_data` value (curl asks for a separate lock per kind of
// data, and locks CURL_LOCK_DATA_SHARE itself while attaching and detaching easy handles).
// `curl_share_setopt` is variadic as well, hence the typed wrappers.

#include <pthread.h>
#include <stdlib.h>

typedef struct CChorusCurl_share_locks {
    pthread_mutex_t mutexes[CURL_LOCK_DATA_LAST];
} CChorusCurl_share_locks;

static inline void CChorusCurl_share_lock(CURL *handle, curl_lock_data data, curl_lock_access access, void *user) {
    (void)handle;
    (void)access;
    CChorusCurl_share_locks *locks = (CChorusCurl_share_locks *)user;
    if (locks != NULL && (int)data >= 0 && data < CURL_LOCK_DATA_LAST) {
        pthread_mutex_lock(&locks->mutexes[data]);
    }
}

static inline void CChorusCurl_share_unlock(CURL *handle, curl_lock_data data, void *user) {
    (void)handle;
    CChorusCurl_share_locks *locks = (CChorusCurl_share_locks *)user;
    if (locks != NULL && (int)data >= 0 && data < CURL_LOCK_DATA_LAST) {
        pthread_mutex_unlock(&locks->mutexes[data]);
    }
}

/// Allocates and initialises one mutex per `curl_lock_data` value; NULL when out of memory.
static inline CChorusCurl_share_locks *CChorusCurl_share_locks_create(void) {
    CChorusCurl_share_locks *locks = (CChorusCurl_share_locks *)calloc(1, sizeof(CChorusCurl_share_locks));
    if (locks == NULL) return NULL;
    for (int index = 0; index < CURL_LOCK_DATA_LAST; index++) {
        if (pthread_mutex_init(&locks->mutexes[index], NULL) != 0) {
            for (int done = 0; done < index; done++) pthread_mutex_destroy(&locks->mutexes[done]);
            free(locks);
            return NULL;
        }
    }
    return locks;
}

/// Only after `curl_share_cleanup` succeeded: nothing may call the lock callbacks any more.
static inline void CChorusCurl_share_locks_destroy(CChorusCurl_share_locks *locks) {
    if (locks == NULL) return;
    for (int index = 0; index < CURL_LOCK_DATA_LAST; index++) pthread_mutex_destroy(&locks->mutexes[index]);
    free(locks);
}

static inline CURLSHcode CChorusCurl_share_setopt_long(CURLSH *share, CURLSHoption option, long value) {
    return curl_share_setopt(share, option, value);
}

static inline CURLSHcode CChorusCurl_share_setopt_pointer(CURLSH *share, CURLSHoption option, void *value) {
    return curl_share_setopt(share, option, value);
}

/// Installs the lock and unlock callbacks above, with `locks` as their user pointer.
static inline CURLSHcode CChorusCurl_share_install_locks(CURLSH *share, CChorusCurl_share_locks *locks) {
    CURLSHcode code = curl_share_setopt(share, CURLSHOPT_LOCKFUNC, CChorusCurl_share_lock);
    if (code != CURLSHE_OK) return code;
    code = curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, CChorusCurl_share_unlock);
    if (code != CURLSHE_OK) return code;
    return curl_share_setopt(share, CURLSHOPT_USERDATA, (void *)locks);
}
