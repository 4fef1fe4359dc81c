// libcurl for Swift. `curl_easy_setopt` and `curl_easy_getinfo` are variadic, which Swift cannot
// call, so each argument type gets a typed wrapper. Only ChorusCurl imports this module.
#pragma once
#include <curl/curl.h>

typedef size_t (*CChorusCurl_data_callback)(char *data, size_t size, size_t count, void *user);
typedef int (*CChorusCurl_xferinfo_callback)(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow);

static inline CURLcode CChorusCurl_setopt_long(CURL *handle, CURLoption option, long value) {
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
