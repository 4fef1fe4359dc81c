public import NIOCore

/// Decodes every complete frame of a socket read with a ``FrameDecoder`` and passes them on as
/// one batch (`[FrameDecoder.Output]`) when the read completes.
///
/// One read from a busy stream holds hundreds of frames. Handing them on one by one costs a
/// pipeline traversal and an async-sequence hand-off per frame, which was the largest cost of a
/// streaming client; a batch per read turns that into a per-read cost. The decoding rules are the
/// ``FrameDecoder``'s: any split of the input decodes the same, oversized frames fail as soon as
/// their header is readable, and a connection that closes mid-frame fails with
/// ``WireError/Kind/truncatedFrame``. After an error the handler drops further input.
///
/// ```swift
/// try channel.pipeline.syncOperations.addHandler(FrameBatchDecoder(FrameDecoder(maxPayloadLength: 4 << 20)))
/// let channel = try NIOAsyncChannel<[FrameDecoder.Output], Never>(wrappingChannelSynchronously: channel)
/// for try await batch in channel.inbound { for element in batch { ... } }
/// ```
public final class FrameBatchDecoder: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = [FrameDecoder.Output]

    private var decoder: FrameDecoder
    /// Bytes of a frame that is not complete yet.
    private var cumulation: ByteBuffer?
    private var batch: [FrameDecoder.Output] = []
    private var failed = false
    /// A batch is passed on early when it reaches this many frames, so one huge read never
    /// builds an unbounded array.
    public let maxBatchSize: Int

    public init(_ decoder: FrameDecoder, maxBatchSize: Int = 4096) {
        self.decoder = decoder
        self.maxBatchSize = max(1, maxBatchSize)
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        var buffer = unwrapInboundIn(data)
        do {
            if var pending = cumulation {
                cumulation = nil
                // Complete the frame left over from the last read by moving only its missing bytes;
                // the rest of this read is then decoded in place (appending the whole read to the
                // leftover was the largest memmove in the client's profile).
                while pending.readableBytes > 0 {
                    if let output = try decoder.decode(buffer: &pending) {
                        append(output, context: context)
                        continue
                    }
                    guard buffer.readableBytes > 0 else {
                        cumulation = pending
                        return
                    }
                    let missing = decoder.bytesMissing(in: pending)
                    precondition(missing > 0, "FrameDecoder returned nothing for a complete frame")
                    var part = buffer.readSlice(length: min(missing, buffer.readableBytes))!
                    pending.writeBuffer(&part)
                }
            }
            while let output = try decoder.decode(buffer: &buffer) {
                append(output, context: context)
            }
        } catch {
            fail(error, context: context)
            return
        }
        if buffer.readableBytes > 0 { cumulation = buffer }
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        fireBatch(context: context)
        context.fireChannelReadComplete()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        fireBatch(context: context)
        if !failed, var leftover = cumulation {
            cumulation = nil
            do {
                while let output = try decoder.decodeLast(buffer: &leftover, seenEOF: true) { batch.append(output) }
                fireBatch(context: context)
            } catch {
                fail(error, context: context)
            }
        }
        context.fireChannelInactive()
    }

    private func append(_ output: FrameDecoder.Output, context: ChannelHandlerContext) {
        batch.append(output)
        if batch.count >= maxBatchSize { fireBatch(context: context) }
    }

    private func fireBatch(context: ChannelHandlerContext) {
        guard !batch.isEmpty else { return }
        let frames = batch
        batch = []
        context.fireChannelRead(wrapInboundOut(frames))
    }

    private func fail(_ error: any Error, context: ChannelHandlerContext) {
        failed = true
        cumulation = nil
        // Frames decoded before the bad one are still delivered, in order, ahead of the error.
        fireBatch(context: context)
        context.fireErrorCaught(error)
    }
}

@available(*, unavailable)
extension FrameBatchDecoder: Sendable {}
