/// The page `nmt serve` shows at `/`: one self-contained document (no CDN, no web font), compiled
/// into the binary so an installed `nmt` serves it from anywhere.
enum Page {
    static var html: String {
        """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>nmt — translate and look inside</title>
        <style>
        \(PageStyle.css)
        </style>
        </head>
        <body>
        <header>
          <h1>nmt</h1>
          <p>Type English, get French — then point at an output word to see which source words the model looked at.</p>
        </header>
        <main>
          <section class="panel" id="input-panel">
            <label for="source">Text</label>
            <textarea id="source" rows="4" placeholder="I am a student.">I am a student.</textarea>
            <div class="row">
              <select id="pair" aria-label="Language pair"></select>
              <label>Beam <input id="beam" type="number" min="1" max="16" value="4"></label>
              <button id="translate" type="button">Translate</button>
              <span id="status" role="status"></span>
            </div>
          </section>
          <section class="panel" id="output-panel">
            <h2>Translation</h2>
            <div id="translation" aria-live="polite"></div>
          </section>
          <section class="panel" id="explore" hidden>
            <h2>Where each output word looked</h2>
            <div class="row">
              <label>Sentence <select id="sentence"></select></label>
              <label>Layer <select id="layer"></select></label>
              <label>Head <select id="head"></select></label>
              <label><input id="words" type="checkbox"> whole words</label>
            </div>
            <p class="hint">Hover or tap an output token: the source tokens shade by the encoder–decoder attention of the step that chose it.</p>
            <div class="tokens-label">Output</div>
            <div id="output-tokens" class="tokens"></div>
            <div class="tokens-label">Source</div>
            <div id="source-tokens" class="tokens"></div>
            <h2>Every layer, head and kind</h2>
            <p class="hint">Rows attend to columns; each row sums to 1. Darker is heavier.</p>
            <div id="heatmaps"></div>
          </section>
          <section class="panel" id="walkthrough-panel" hidden>
            <h2>Walkthrough (greedy search)</h2>
            <div id="walkthrough"></div>
          </section>
        </main>
        <script>
        \(PageScript.javascript)
        </script>
        </body>
        </html>
        """
    }
}
