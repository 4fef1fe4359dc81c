internal import CChorusCurl
import Foundation

/// A transfer's easy handle and the C memory its options point at, freed when it ends.
struct RunningTransfer {
    let transfer: CurlTransfer
    let easy: UnsafeMutableRawPointer
    var headers: UnsafeMutablePointer<curl_slist>?
    var file: UnsafeMutablePointer<FILE>?
    var mime: OpaquePointer?
}

extension CurlMultiLoop {
    /// Sets every option of a fresh or freshly reset handle for its transfer's request.
    func configure(_ entry: inout RunningTransfer) -> CURLcode {
        let handle = entry.easy
        let request = entry.transfer.request
        let user = Unmanaged.passUnretained(entry.transfer).toOpaque()
        CChorusCurl_setopt_string(handle, CURLOPT_URL, request.url)
        CChorusCurl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, request.method)
        CChorusCurl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        CChorusCurl_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 1)
        CChorusCurl_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 2)
        CChorusCurl_setopt_long(handle, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS)
        share.attach(handle)
        if maxIdleConnections == 0 { CChorusCurl_setopt_long(handle, CURLOPT_FORBID_REUSE, 1) }
        CChorusCurl_setopt_long(handle, CURLOPT_TCP_KEEPALIVE, 1)
        CChorusCurl_setopt_long(handle, CURLOPT_TCP_NODELAY, 1)
        CChorusCurl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(request.connectTimeout))
        if let total = request.totalTimeout {
            CChorusCurl_setopt_long(handle, CURLOPT_TIMEOUT_MS, Self.milliseconds(total))
        }
        for header in request.headers {
            entry.headers = curl_slist_append(entry.headers, "\(header.name): \(header.value)")
        }
        if let headers = entry.headers { CChorusCurl_setopt_slist(handle, CURLOPT_HTTPHEADER, headers) }
        if let parts = request.multipart {
            guard let mime = curl_mime_init(handle) else { return CURLE_OUT_OF_MEMORY }
            entry.mime = mime
            for part in parts {
                guard let added = curl_mime_addpart(mime) else { return CURLE_OUT_OF_MEMORY }
                let result: CURLcode
                switch part {
                case .field(let name, let value):
                    let named = curl_mime_name(added, name)
                    result = named != CURLE_OK ? named : curl_mime_data(added, value, CChorusCurl_zero_terminated())
                case .file(let name, let path, let filename, let contentType):
                    // curl opens the file when it sends the part and reads it as it goes; a
                    // missing file fails the transfer with CURLE_READ_ERROR.
                    var code = curl_mime_name(added, name)
                    if code == CURLE_OK { code = curl_mime_filedata(added, path) }
                    if code == CURLE_OK { code = curl_mime_filename(added, filename) }
                    if code == CURLE_OK { code = curl_mime_type(added, contentType) }
                    result = code
                }
                guard result == CURLE_OK else { return result }
            }
            let posted = CChorusCurl_setopt_mime(handle, mime)
            guard posted == CURLE_OK else { return posted }
        } else if let path = request.bodyFile {
            // Read by curl's default read callback (fread on READDATA) while it sends.
            var status = stat()
            guard let opened = fopen(path, "rb") else { return CURLE_READ_ERROR }
            entry.file = opened
            guard fstat(fileno(opened), &status) == 0 else { return CURLE_READ_ERROR }
            let offset = off_t(request.bodyFileOffset)
            guard offset >= 0, offset <= status.st_size, fseeko(opened, offset, SEEK_SET) == 0 else { return CURLE_READ_ERROR }
            CChorusCurl_setopt_long(handle, CURLOPT_POST, 1)
            CChorusCurl_setopt_off(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(status.st_size - offset))
            CChorusCurl_setopt_pointer(handle, CURLOPT_READDATA, UnsafeMutableRawPointer(opened))
            // On a reused connection that turns out dead, curl would silently re-send the body
            // on a new one, rewinding to the start of the file (not to the offset), after the
            // server may have kept part of it. A fresh connection (one handshake per upload, next
            // to megabytes of video) means a failure is reported, and never rewound.
            CChorusCurl_setopt_long(handle, CURLOPT_FRESH_CONNECT, 1)
            guard CChorusCurl_refuse_rewind(handle) == CURLE_OK else { return CURLE_READ_ERROR }
        } else if let body = request.body {
            // curl copies the body, so nothing has to keep the array's storage pinned meanwhile.
            CChorusCurl_setopt_long(handle, CURLOPT_POSTFIELDSIZE, body.count)
            let copied = body.withUnsafeBytes { bytes in
                guard let base = bytes.baseAddress else { return CChorusCurl_setopt_string(handle, CURLOPT_COPYPOSTFIELDS, "") }
                return CChorusCurl_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: base))
            }
            guard copied == CURLE_OK else { return copied }
        }
        CChorusCurl_setopt_data_callback(handle, CURLOPT_WRITEFUNCTION) { data, size, count, user in
            let transfer = Unmanaged<CurlTransfer>.fromOpaque(user!).takeUnretainedValue()
            let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(data!).assumingMemoryBound(to: UInt8.self), count: size * count)
            switch transfer.receive(bytes) {
            case .taken: return bytes.count
            case .takenAndFull:
                transfer.loop.bufferFilled(transfer)
                return bytes.count
            case .cancelled: return 0
            }
        }
        CChorusCurl_setopt_pointer(handle, CURLOPT_WRITEDATA, user)
        CChorusCurl_setopt_data_callback(handle, CURLOPT_HEADERFUNCTION) { data, size, count, user in
            let transfer = Unmanaged<CurlTransfer>.fromOpaque(user!).takeUnretainedValue()
            let length = size * count
            let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(data!).assumingMemoryBound(to: UInt8.self), count: length)
            if transfer.receiveHeaderLine(bytes) { transfer.loop.headCompleted(transfer) }
            return length
        }
        CChorusCurl_setopt_pointer(handle, CURLOPT_HEADERDATA, user)
        return CURLE_OK
    }

    static func milliseconds(_ duration: Duration) -> Int {
        Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }
}
