internal import CChorusCurl
import Foundation

/// Connection reuse for one ``CurlHTTPClient`` and all its copies.
///
/// Two parts:
///
/// - A curl share (`CURLSH`) with lock callbacks (one mutex per kind of data, in C), sharing the
///   DNS cache and TLS session IDs between every transfer of the client, whatever thread it runs on.
/// - A pool of idle easy handles. A finished transfer's handle is reset (every option dropped, so
///   it keeps no pointer to a request's headers, body or transfer) and parked here together with
///   the live connection curl keeps in it; the next transfer to the same origin takes it and curl
///   reuses that connection (or, if the server closed it meanwhile, opens a new one).
///
/// The connection cache itself is deliberately *not* put in the share (`CURL_LOCK_DATA_CONNECT`):
/// libcurl documents that sharing connections between concurrent threads is not supported (known
/// bug "a shared connection cache is not thread-safe"), and every transfer here runs
/// `curl_easy_perform` on a thread of its own. Handing whole easy handles from thread to thread,
/// one thread at a time, is supported, and gives the same reuse for sequential requests.
///
/// Lifetime: every easy handle that was attached to the share is either checked out (and its
/// transfer's thread holds a strong reference to this object until it checked the handle back in)
/// or idle here; `deinit` therefore runs with every handle idle and cleans them all up before the
/// share, as curl requires.
final class CurlShare: @unchecked Sendable {
    private struct IdleHandle {
        let handle: UnsafeMutableRawPointer
        let origin: String
    }

    /// The `CURLSH *`, nil if curl could not create one (then handles are still pooled).
    private let share: UnsafeMutableRawPointer?
    private let locks: UnsafeMutablePointer<CChorusCurl_share_locks>?
    /// Idle handles kept at most; the least recently used one is cleaned up beyond that.
    let maxIdleHandles: Int

    private let lock = NSLock()
    /// Guarded by `lock`; least recently used first.
    private var idle: [IdleHandle] = []

    init(maxIdleHandles: Int) {
        self.maxIdleHandles = max(0, maxIdleHandles)
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
        // No transfer is running (each holds a reference), so every handle is idle: clean them up
        // first (closing their connections), then the share they were attached to.
        for entry in idle { curl_easy_cleanup(entry.handle) }
        idle.removeAll()
        if let share {
            if curl_share_cleanup(share) == CURLSHE_OK {
                CChorusCurl_share_locks_destroy(locks)
            }
            // CURLSHE_IN_USE cannot happen (see above); if it did, keeping the share and its
            // mutexes alive is the safe choice.
        }
    }

    /// An easy handle for a transfer to `origin`: an idle one that last talked to that origin
    /// (it holds that connection), else a new one. Nil only if curl is out of memory.
    func checkout(origin: String) -> UnsafeMutableRawPointer? {
        lock.lock()
        if let index = idle.lastIndex(where: { $0.origin == origin }) {
            let entry = idle.remove(at: index)
            lock.unlock()
            return entry.handle
        }
        lock.unlock()
        return curl_easy_init()
    }

    /// Attaches `handle` to the share; call after every `curl_easy_reset`-fresh configuration.
    func attach(_ handle: UnsafeMutableRawPointer) {
        if let share { CChorusCurl_setopt_pointer(handle, CURLOPT_SHARE, share) }
    }

    /// Takes a handle back after its transfer (whatever the outcome). The handle is reset here, so
    /// the caller may free the header list and body it pointed at right after this returns.
    func checkin(_ handle: UnsafeMutableRawPointer, origin: String) {
        // Drops every option (callbacks, user pointers, header list, body) but keeps the live
        // connection, and the attachment to the share.
        curl_easy_reset(handle)
        var evicted: UnsafeMutableRawPointer?
        lock.lock()
        if maxIdleHandles == 0 {
            evicted = handle
        } else {
            idle.append(IdleHandle(handle: handle, origin: origin))
            if idle.count > maxIdleHandles { evicted = idle.removeFirst().handle }
        }
        lock.unlock()
        if let evicted { curl_easy_cleanup(evicted) }
    }

    /// Idle handles right now (for tests).
    var idleHandleCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return idle.count
    }

    /// The pool key for `url`: scheme, host and port, the parts that decide which connection
    /// curl can reuse (proxies come from the environment, per origin).
    static func origin(of url: String) -> String {
        guard let components = URLComponents(string: url), let host = components.host, !host.isEmpty else {
            return url
        }
        let scheme = components.scheme?.lowercased() ?? "http"
        let port = components.port ?? (scheme == "https" ? 443 : scheme == "http" ? 80 : -1)
        return "\(scheme)://\(host.lowercased()):\(port)"
    }
}
