internal import CChorusCurl
import Foundation

/// Connection reuse for one ``CurlHTTPClient`` and all its copies.
///
/// Two parts:
///
/// - A curl share (`CURLSH`) with lock callbacks (one mutex per kind of data, in C), sharing the
///   DNS cache and TLS session IDs between every transfer of the client, whatever thread it runs on.
/// - A pool of idle easy handles, each with the multi handle it runs in. A finished transfer's
///   handle is reset (every option dropped, so it keeps no pointer to a request's headers, body or
///   transfer) and parked here together with the live connection its multi handle keeps; the next transfer to the same origin takes it and curl
///   reuses that connection (or, if the server closed it meanwhile, opens a new one).
///
/// The connection cache itself is deliberately *not* put in the share (`CURL_LOCK_DATA_CONNECT`):
/// libcurl documents that sharing connections between concurrent threads is not supported (known
/// bug "a shared connection cache is not thread-safe"), and every transfer here runs on a thread
/// of its own. Handing whole easy + multi handle pairs from thread to thread, one thread at a time,
/// is supported, and gives the same reuse for sequential requests.
///
/// Lifetime: every easy handle that was attached to the share is either checked out (and its
/// transfer's thread holds a strong reference to this object until it checked the handle back in)
/// or idle here; `deinit` therefore runs with every handle idle and cleans them all up before the
/// share, as curl requires.
final class CurlShare: @unchecked Sendable {
    /// An easy handle and the multi handle it runs in. The multi handle's connection cache holds
    /// the live connection between transfers (as `curl_easy_perform`'s hidden multi handle would),
    /// and `curl_multi_wakeup` lets another thread interrupt a transfer waiting on a silent socket.
    struct PooledHandle {
        let easy: UnsafeMutableRawPointer
        let multi: UnsafeMutableRawPointer
    }

    private struct IdleHandle {
        let pooled: PooledHandle
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
    /// URL → pool key; a gateway calls the same few URLs over and over (guarded by `lock`).
    private var origins: [String: String] = [:]

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
        for entry in idle { CurlShare.cleanup(entry.pooled) }
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
    func checkout(origin: String) -> PooledHandle? {
        lock.lock()
        if let index = idle.lastIndex(where: { $0.origin == origin }) {
            let entry = idle.remove(at: index)
            lock.unlock()
            return entry.pooled
        }
        lock.unlock()
        guard let easy = curl_easy_init() else { return nil }
        guard let multi = curl_multi_init() else {
            curl_easy_cleanup(easy)
            return nil
        }
        return PooledHandle(easy: easy, multi: multi)
    }

    /// Attaches `handle` to the share; call after every `curl_easy_reset`-fresh configuration.
    func attach(_ handle: UnsafeMutableRawPointer) {
        if let share { CChorusCurl_setopt_pointer(handle, CURLOPT_SHARE, share) }
    }

    /// Takes a handle back after its transfer (whatever the outcome). The handle is reset here, so
    /// the caller may free the header list and body it pointed at right after this returns.
    /// The easy handle must already be removed from its multi handle.
    func checkin(_ handle: PooledHandle, origin: String) {
        // Drops every option (callbacks, user pointers, header list, body); the connection stays
        // in the multi handle's cache.
        curl_easy_reset(handle.easy)
        var evicted: PooledHandle?
        lock.lock()
        if maxIdleHandles == 0 {
            evicted = handle
        } else {
            idle.append(IdleHandle(pooled: handle, origin: origin))
            if idle.count > maxIdleHandles { evicted = idle.removeFirst().pooled }
        }
        lock.unlock()
        if let evicted { CurlShare.cleanup(evicted) }
    }

    /// Closes the connection (the multi handle's cache) and frees both handles.
    private static func cleanup(_ handle: PooledHandle) {
        curl_multi_cleanup(handle.multi)
        curl_easy_cleanup(handle.easy)
    }

    /// Idle handles right now (for tests).
    var idleHandleCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return idle.count
    }

    /// The pool key of `url` (see the static `origin(of:)`), parsed once per distinct URL.
    func origin(of url: String) -> String {
        lock.lock()
        if let known = origins[url] {
            lock.unlock()
            return known
        }
        lock.unlock()
        let origin = CurlShare.origin(of: url)
        lock.lock()
        if origins.count >= 256 { origins.removeAll(keepingCapacity: true) }
        origins[url] = origin
        lock.unlock()
        return origin
    }

    /// The pool key for `url`: scheme, host and port, the parts that decide which connection
    /// curl can reuse (proxies come from the environment, per origin).
    static func origin(of url: String) -> String {
        // A plain scan instead of URLComponents (Foundation's parser showed up on the
        // first-token path): scheme://[userinfo@]host[:port][/?#...].
        guard let schemeEnd = url.range(of: "://") else { return url }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        var authority = url[schemeEnd.upperBound...]
        if let end = authority.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) { authority = authority[..<end] }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        var host = authority
        var port: Int?
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            host = authority[...close]
            let rest = authority[authority.index(after: close)...]
            if rest.hasPrefix(":") { port = Int(rest.dropFirst()) }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            port = Int(authority[authority.index(after: colon)...])
        }
        guard !host.isEmpty else { return url }
        let resolvedPort = port ?? (scheme == "https" ? 443 : scheme == "http" ? 80 : -1)
        return "\(scheme)://\(host.lowercased()):\(resolvedPort)"
    }
}
