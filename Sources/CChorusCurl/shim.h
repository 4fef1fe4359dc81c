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

static inline CURLcode CChorusCurl_setopt_mime(CURL *handle, curl_mime *mime) {
    return curl_easy_setopt(handle, CURLOPT_MIMEPOST, mime);
}

/// `CURL_ZERO_TERMINATED` is `((size_t) -1)`, a macro Swift does not import.
static inline size_t CChorusCurl_zero_terminated(void) {
    return CURL_ZERO_TERMINATED;
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

/// A file body is never rewound: curl seeks relative to the body's start, which for an upload
/// resumed at an offset is not the file's start. A transfer that would need it (a dead reused
/// connection, a redirect) fails instead, and the caller retries (and resumes) knowingly.
static int CChorusCurl_refuse_seek(void *user, curl_off_t offset, int origin) {
    (void)user; (void)offset; (void)origin;
    return CURL_SEEKFUNC_CANTSEEK;
}

static inline CURLcode CChorusCurl_refuse_rewind(CURL *handle) {
    return curl_easy_setopt(handle, CURLOPT_SEEKFUNCTION, CChorusCurl_refuse_seek);
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

/// Continues a paused transfer (`CURLPAUSE_CONT` is a composite macro Swift cannot import).
/// Only on the thread driving the transfer's multi handle.
static inline CURLcode CChorusCurl_unpause(CURL *handle) {
    return curl_easy_pause(handle, CURLPAUSE_CONT);
}

/// Stops curl reading the transfer's response until `CChorusCurl_unpause`. Called outside curl's
/// callbacks, on the thread driving the transfer's multi handle.
static inline CURLcode CChorusCurl_pause_receiving(CURL *handle) {
    return curl_easy_pause(handle, CURLPAUSE_RECV);
}

// MARK: - The multi socket interface over epoll
//
// CurlMultiLoop drives its multi handle with `curl_multi_socket_action`: curl tells it which
// sockets to watch (socket callback) and when to call back on a timer (timer callback), the loop
// waits in epoll and reports only the sockets that are ready. Unlike `curl_multi_perform`, which
// visits every transfer on every call, the cost of a wake-up is that of the transfers it concerns.
// The epoll calls are here because `struct epoll_event` is packed on x86-64.

#include <errno.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/eventfd.h>

typedef int (*CChorusCurl_socket_callback)(CURL *easy, curl_socket_t socket, int what, void *user, void *socketUser);
typedef int (*CChorusCurl_timer_callback)(CURLM *multi, long timeoutMilliseconds, void *user);

static inline CURLMcode CChorusCurl_multi_setopt_pointer(CURLM *multi, CURLMoption option, void *value) {
    return curl_multi_setopt(multi, option, value);
}

static inline CURLMcode CChorusCurl_multi_setopt_socket_callback(CURLM *multi, CChorusCurl_socket_callback callback) {
    return curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, callback);
}

static inline CURLMcode CChorusCurl_multi_setopt_timer_callback(CURLM *multi, CChorusCurl_timer_callback callback) {
    return curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, callback);
}

/// Adds, changes or removes `fd` in the epoll set `epfd` as curl's `what` (CURL_POLL_*) asks.
/// `known` says whether `fd` is already in the set (the caller marks sockets it added with
/// `curl_multi_assign`, which curl forgets on CURL_POLL_REMOVE), so a socket costs one `epoll_ctl`,
/// not a failed EPOLL_CTL_MOD before every EPOLL_CTL_ADD of a reused connection.
/// Returns 0 or -1 with errno; removing a socket curl already closed is not an error.
static inline int CChorusCurl_epoll_watch(int epfd, int fd, int what, int known) {
    if (what == CURL_POLL_REMOVE) {
        int result = epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
        return (result == 0 || errno == EBADF || errno == ENOENT) ? 0 : -1;
    }
    struct epoll_event event = {0};
    event.data.fd = fd;
    if (what & CURL_POLL_IN) event.events |= EPOLLIN;
    if (what & CURL_POLL_OUT) event.events |= EPOLLOUT;
    int result = epoll_ctl(epfd, known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &event);
    // Defensive: the set and the marks disagree (never expected); do what was asked anyway.
    if (result != 0 && known && errno == ENOENT) result = epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event);
    if (result != 0 && !known && errno == EEXIST) result = epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &event);
    return result;
}

/// Marks `fd` as in the epoll set (see `CChorusCurl_epoll_watch`): any non-null pointer will do.
static inline CURLMcode CChorusCurl_mark_watched(CURLM *multi, curl_socket_t fd) {
    static char watched;
    return curl_multi_assign(multi, fd, &watched);
}

/// Waits up to `timeoutMilliseconds` (-1: no limit) for at most `capacity` ready descriptors;
/// fills `fds` and `flags` (CURL_CSELECT_IN/OUT/ERR) and returns their number, or -1 with errno.
static inline int CChorusCurl_epoll_wait(int epfd, int *fds, int *flags, int capacity, int timeoutMilliseconds) {
    struct epoll_event events[128];
    if (capacity > 128) capacity = 128;
    int count = epoll_wait(epfd, events, capacity, timeoutMilliseconds);
    for (int index = 0; index < count; index++) {
        fds[index] = events[index].data.fd;
        int flag = 0;
        if (events[index].events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) flag |= CURL_CSELECT_IN;
        if (events[index].events & EPOLLOUT) flag |= CURL_CSELECT_OUT;
        if (events[index].events & EPOLLERR) flag |= CURL_CSELECT_ERR;
        flags[index] = flag;
    }
    return count;
}

/// Names the calling thread (at most 15 characters) as `top -H`, `perf` and /proc show it.
static inline int CChorusCurl_name_thread(const char *name) {
    return prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
}

/// A non-blocking, close-on-exec eventfd for waking the loop; -1 with errno on failure.
static inline int CChorusCurl_eventfd(void) {
    return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

/// Adds the loop's wake-up eventfd to the epoll set (readable = commands are waiting).
static inline int CChorusCurl_epoll_add_reader(int epfd, int fd) {
    struct epoll_event event = {0};
    event.data.fd = fd;
    event.events = EPOLLIN;
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event);
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
