extension DemoText {
    /// The words demo answers are made of. Changing any list changes every demo answer, which is
    /// fine (tests compare answers with each other, not with stored text) but shows up in demos.
    enum PhraseBank {
        static let openers = [
            "Here is what the video shows.",
            "Based on the visuals and the audio, the answer is fairly clear.",
            "The footage gives a good view of what is going on.",
            "Short answer: the clip addresses this directly.",
            "Looking at the video from start to finish, a few things stand out.",
            "The video is short, but it covers the question well.",
        ]

        static let topicSentences = [
            "Regarding {topic}, the most relevant moment comes {when}.",
            "The part about {topic} is easiest to see {when}.",
            "On the question of {topic}, the clearest evidence appears {when}.",
        ]

        static let moments = [
            "about a third of the way in",
            "just before the halfway mark",
            "in the closing seconds",
            "right after the opening title",
            "during the second scene",
        ]

        static let transitions = [
            "At the start,", "In the opening shot,", "Shortly after,", "Around the midpoint,", "Later on,",
            "In the final third,", "Near the end,", "Throughout the clip,", "In one close-up,", "Meanwhile,",
        ]

        static let subjects = [
            "a presenter in a blue jacket", "the camera", "a couple at a kitchen table", "a cyclist",
            "a small dog", "the narrator", "a slow drone shot", "a crowd near the stage", "a chef",
            "a teacher at a whiteboard", "a red car", "the host", "a child with a kite", "an engineer",
        ]

        static let actions = [
            "walks toward the camera", "explains the main idea", "pans slowly across the room",
            "points at a chart on the wall", "stops to look around", "demonstrates the first step",
            "moves into a brighter room", "holds up a small object", "switches to a close-up",
            "turns to address the audience", "follows a winding path", "lingers on the skyline",
            "compares two options side by side", "repeats the key instruction",
        ]

        static let details = [
            "while soft music plays in the background", "with captions summarising each point",
            "as the lighting shifts to warmer tones", "and the audio picks up street noise",
            "which sets the tone for the rest of the video", "before cutting to a wider view",
            "in a single continuous take", "with a timestamp visible in the corner",
            "as a voice-over adds context", "while the crowd reacts",
        ]

        static let observations = [
            "The pacing is steady, with a cut every few seconds.",
            "The speech is clear enough to follow without subtitles.",
            "Text overlays reinforce the key moments.",
            "Colours look natural and the footage appears professionally shot.",
            "There is little background noise, so the narration carries the story.",
            "The framing keeps the main subject centred most of the time.",
            "A short title card separates the two halves of the video.",
        ]

        static let summaries = [
            "gives a clear, well-paced answer to the question",
            "covers the topic briefly but clearly",
            "feels informal but informative",
            "shows the key steps in a sensible order",
            "is easy to follow even without sound",
        ]

        /// Short sentences of exactly 1, 2, 3, 4 and 5 words, used to hit an exact word count.
        static let fillers = [
            ["Recommended.", "Noted."],
            ["Worth watching.", "Nicely done.", "Quite clear."],
            ["That covers it.", "It ends there.", "Nothing more happens."],
            ["The shot then fades.", "Nothing else stands out.", "The music fades out."],
            ["The video ends shortly after.", "That is the main takeaway.", "The final frame stays still."],
        ]

        static let stopWords: Set<String> = [
            "what", "which", "when", "where", "does", "this", "that", "there", "their", "they", "them",
            "with", "from", "about", "into", "video", "clip", "footage", "scene", "please", "tell",
            "have", "happens", "happening", "going", "show", "shows", "shown", "describe", "explain",
            "would", "could", "should", "your", "some", "many", "much", "these", "those", "were", "been",
            "the", "and", "how", "why", "who", "was", "are", "for", "you", "can", "any", "its", "his", "her",
            "did", "has", "had", "not", "but", "all", "out", "doing", "being", "happen", "like", "look", "make",
            "give", "summary", "summarize", "summarise", "watch", "see", "seen", "is", "in", "on", "at",
        ]
    }
}
