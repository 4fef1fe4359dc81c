internal import CChorusCurl
import Foundation

extension CurlMultiLoop {
    /// Installs curl's socket and timer callbacks; both run on the loop thread, inside curl calls.
    func installCallbacks(_ multi: UnsafeMutableRawPointer) {
        let user = Unmanaged.passUnretained(self).toOpaque()
        CChorusCurl_multi_setopt_socket_callback(multi) { _, socket, what, user, socketUser in
            // curl says which sockets to watch for what; the loop waits on them in epoll. A socket
            // it has not seen since its last CURL_POLL_REMOVE has no mark yet: add it, then mark it.
            let loop = Unmanaged<CurlMultiLoop>.fromOpaque(user!).takeUnretainedValue()
            let known = socketUser != nil
            guard CChorusCurl_epoll_watch(loop.epollFD, socket, what, known ? 1 : 0) == 0 else { return -1 }
            if !known, what != CURL_POLL_REMOVE, let multi = loop.multi {
                CChorusCurl_mark_watched(multi, socket)
            }
            return 0
        }
        CChorusCurl_multi_setopt_pointer(multi, CURLMOPT_SOCKETDATA, user)
        CChorusCurl_multi_setopt_timer_callback(multi) { _, milliseconds, user in
            // -1: no timer; 0: as soon as possible; else in that many milliseconds. Only recorded
            // here: curl must not be re-entered from its own callback.
            let loop = Unmanaged<CurlMultiLoop>.fromOpaque(user!).takeUnretainedValue()
            loop.timerDeadline = milliseconds < 0 ? nil : DispatchTime.now().uptimeNanoseconds + UInt64(milliseconds) * 1_000_000
            return 0
        }
        CChorusCurl_multi_setopt_pointer(multi, CURLMOPT_TIMERDATA, user)
    }
}
