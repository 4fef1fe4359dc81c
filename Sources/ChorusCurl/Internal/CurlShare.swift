internal import CChorusCurl
import Foundation

/// A curl share (`CURLSH`) for one ``CurlHTTPClient``: its DNS cache and TLS session IDs, so a
/// new connection to a known upstream skips the lookup and resumes the TLS session.
///
/// The share has lock callbacks (one mutex per kind of data, in C) although one
/// ``CurlMultiLoop`` thread uses it: curl's resolver threads and the client's tear-down touch it
/// too, and uncontended mutexes cost nothing measurable. Connections themselves live in the loop's
/// multi handle (`CURL_LOCK_DATA_CONNECT` is deliberately not shared: libcurl documents a shared
/// connection cache as not thread-safe).
///
/// Lifetime: the loop holds the share and frees every easy handle (detaching it) before it lets
/// go, so `deinit` runs with no handle attached, as `curl_share_cleanup` requires.
final class CurlShare: @unchecked Sendable {
    /// The `CURLSH *`, nil if curl could not create one (transfers then run without it).
    private let share: UnsafeMutableRawPointer?
    private let locks: UnsafeMutablePointer<CChorusCurl_share_locks>?

    init() {
        var share: UnsafeMutableRawPointer?
        var locks: UnsafeMutablePointer<CChorusCurl_share_locks>?
        if let newLocks = CChorusCurl_share_locks_create() {
            if let newShare = curl_share_init() {
                if CChorusCurl_share_install_locks(newShare, newLocks) == CURLSHE_OK,
                    CChorusCurl_share_setopt_long(newShare, CURLSHOPT_SHARE, Int(CURL_LOCK_DATA_DNS.rawValue)) == CURLSHE_OK,
                    CChorusCurl_share_setopt_long(newShare, CURLSHOPT_SHARE, Int(CURL_LOCK_DATA_SSL_SESSION.rawValue)) == CURLSHE_OK
                {
                    share = newShare
                    locks = newLocks
                } else {
                    curl_share_cleanup(newShare)
                    CChorusCurl_share_locks_destroy(newLocks)
                }
            } else {
                CChorusCurl_share_locks_destroy(newLocks)
            }
        }
        self.share = share
        self.locks = locks
    }

    deinit {
        if let share {
            if curl_share_cleanup(share) == CURLSHE_OK {
                CChorusCurl_share_locks_destroy(locks)
            }
            // CURLSHE_IN_USE cannot happen (see above); if it did, keeping the share and its
            // mutexes alive is the safe choice.
        }
    }

    /// Attaches `handle` to the share; call after every `curl_easy_reset`-fresh configuration.
    func attach(_ handle: UnsafeMutableRawPointer) {
        if let share { CChorusCurl_setopt_pointer(handle, CURLOPT_SHARE, share) }
    }
}
