public import ChorusCore

/// `chorus analyze --json`: exactly one JSON object per line per event, in the published contract
/// of ``ChorusCore/AnalyzeEvent/appendJSON(into:)``.
///
/// A call-level failure adds one last line in the call-level error form (no `model` key), built
/// by ``ChorusCore/ChorusError/appendJSONEvent(into:)``; an interruption is reported the same way
/// with code `CANCELLED`. Nothing else is ever written to standard output in this mode.
///
/// ```swift
/// var renderer = JSONRenderer(output: FileDescriptorOutput.standardOutput)
/// renderer.render(event)   // {"event_type":"text_generation","seq":3,...}
/// ```
public struct JSONRenderer: AnalyzeRenderer {
    private let output: any TextOutput
    // Reused across events so steady-state encoding does not allocate.
    private var buffer: [UInt8] = []

    /// A renderer writing to `output`, normally standard output.
    public init(output: any TextOutput) {
        self.output = output
        buffer.reserveCapacity(512)
    }

    public mutating func render(_ event: AnalyzeEvent) {
        buffer.removeAll(keepingCapacity: true)
        event.appendJSON(into: &buffer)
        buffer.append(UInt8(ascii: "\n"))
        output.write(bytes: buffer)
    }

    public mutating func finish(_ outcome: AnalyzeOutcome) {
        let error: ChorusError
        switch outcome {
        case .completed:
            return
        case .failed(let failure):
            error = failure
        case .interrupted:
            error = ChorusError(.cancelled, "interrupted by the user")
        }
        buffer.removeAll(keepingCapacity: true)
        error.appendJSONEvent(into: &buffer)
        buffer.append(UInt8(ascii: "\n"))
        output.write(bytes: buffer)
    }
}
