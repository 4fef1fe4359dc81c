/// Measuring, cleaning, wrapping and padding text for fixed-width output.
///
/// Widths are in terminal cells: most characters take one, East Asian wide characters and emoji
/// take two. The estimate is deliberately simple (no full `wcwidth` table); it is right for the
/// text models usually produce and errs towards "wide" so columns never overflow.
public enum TextLayout {
    /// Removes everything that could move the cursor or change the terminal's state when printed:
    /// C0 controls (ESC included), DEL and C1 controls. `\n` is kept; `\r\n` and a lone `\r`
    /// become `\n`; a tab becomes `tabReplacement`.
    ///
    /// Model output is untrusted text, so this runs before any of it reaches a terminal.
    public static func sanitize(_ text: String, tabReplacement: String = "    ") -> String {
        var result = String.UnicodeScalarView()
        var previousWasCarriageReturn = false
        for scalar in text.unicodeScalars {
            defer { previousWasCarriageReturn = scalar == "\r" }
            switch scalar.value {
            case 0x0A:
                if !previousWasCarriageReturn { result.append(scalar) }
            case 0x0D:
                result.append("\n")
            case 0x09:
                result.append(contentsOf: tabReplacement.unicodeScalars)
            case 0x00..<0x20, 0x7F..<0xA0:
                continue
            default:
                result.append(scalar)
            }
        }
        return String(result)
    }

    /// The number of terminal cells `text` occupies (no control characters expected).
    public static func displayWidth(_ text: String) -> Int {
        var width = 0
        for character in text {
            width += displayWidth(character)
        }
        return width
    }

    static func displayWidth(_ character: Character) -> Int {
        let scalars = character.unicodeScalars
        guard let first = scalars.first else { return 0 }
        if first.value < 0x300 { return 1 }
        // An emoji variation selector turns text symbols (e.g. ❤) into two-cell emoji.
        if scalars.contains(where: { $0.value == 0xFE0F }) { return 2 }
        if first.properties.isEmojiPresentation { return 2 }
        switch first.value {
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
            0xA000...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60,
            0xFFE0...0xFFE6, 0x20000...0x3FFFD:
            return 2
        default:
            // Combining marks that start a cluster on their own take no room.
            return first.properties.generalCategory == .nonspacingMark ? 0 : 1
        }
    }

    /// Word-wraps `text` to lines of at most `width` cells.
    ///
    /// `\n` starts a new line (an empty paragraph gives an empty line); runs of spaces collapse to
    /// one; a word longer than `width` is split. Expects sanitized text.
    public static func wrap(_ text: String, width: Int) -> [String] {
        let width = max(1, width)
        var lines: [String] = []
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = ""
            var lineWidth = 0
            for word in paragraph.split(separator: " ") {
                var word = Substring(word)
                var wordWidth = displayWidth(String(word))
                if lineWidth > 0 && lineWidth + 1 + wordWidth <= width {
                    line += " "
                    line += word
                    lineWidth += 1 + wordWidth
                    continue
                }
                if lineWidth > 0 {
                    lines.append(line)
                    line = ""
                    lineWidth = 0
                }
                // Hard-split words that cannot fit on a line of their own.
                while wordWidth > width {
                    let (head, headWidth) = prefix(of: word, fitting: width)
                    lines.append(String(head))
                    word = word[head.endIndex...]
                    wordWidth -= headWidth
                }
                line = String(word)
                lineWidth = wordWidth
            }
            lines.append(line)
        }
        return lines
    }

    /// Cuts `text` to at most `width` cells, ending with `…` when something was cut.
    public static func truncate(_ text: String, width: Int) -> String {
        guard width > 0 else { return "" }
        if displayWidth(text) <= width { return text }
        if width == 1 { return "…" }
        let (head, _) = prefix(of: Substring(text), fitting: width - 1)
        return head + "…"
    }

    /// Pads `text` with spaces to exactly `width` cells, truncating first when it is wider.
    public static func pad(_ text: String, to width: Int, alignRight: Bool = false) -> String {
        let fitted = truncate(text, width: width)
        let padding = String(repeating: " ", count: max(0, width - displayWidth(fitted)))
        return alignRight ? padding + fitted : fitted + padding
    }

    /// The longest prefix of `text` that fits in `width` cells (at least one character, so that
    /// wrapping always makes progress) and its width.
    private static func prefix(of text: Substring, fitting width: Int) -> (Substring, Int) {
        var used = 0
        var end = text.startIndex
        for index in text.indices {
            let characterWidth = displayWidth(text[index])
            if used + characterWidth > width && end != text.startIndex { break }
            used += characterWidth
            end = text.index(after: index)
            if used >= width { break }
        }
        return (text[text.startIndex..<end], used)
    }
}
