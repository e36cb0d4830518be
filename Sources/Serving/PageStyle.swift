/// The page's style sheet: system fonts only, readable on a phone.
enum PageStyle {
    static let css = #"""
    :root { --ink: #1d2430; --muted: #5b6575; --line: #d8dde6; --accent: #1f5fbf; --paper: #ffffff; --back: #f4f6f9; }
    * { box-sizing: border-box; }
    body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--back); }
    header { padding: 16px 24px 4px; }
    header h1 { margin: 0; font-size: 22px; }
    header p { margin: 4px 0 0; color: var(--muted); }
    main { padding: 8px 24px 32px; display: grid; gap: 14px; max-width: 1200px; }
    .panel { background: var(--paper); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; }
    h2 { font-size: 16px; margin: 0 0 10px; }
    h3 { font-size: 14px; margin: 14px 0 6px; }
    textarea { width: 100%; font: inherit; padding: 8px; border: 1px solid var(--line); border-radius: 6px; resize: vertical; }
    .row { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; margin-top: 8px; }
    select, input[type=number] { font: inherit; padding: 3px 6px; }
    input[type=number] { width: 4.5em; }
    button { font: inherit; padding: 6px 16px; border: 0; border-radius: 6px; background: var(--accent); color: #fff; cursor: pointer; }
    button:disabled { opacity: .6; cursor: wait; }
    #status { color: var(--muted); }
    #status.error { color: #b3261e; }
    #translation { white-space: pre-wrap; font-size: 18px; min-height: 1.5em; }
    .hint { color: var(--muted); margin: 4px 0 10px; font-size: 13px; }
    .tokens-label { font-size: 12px; color: var(--muted); margin-top: 8px; }
    .tokens { display: flex; flex-wrap: wrap; gap: 4px; margin: 4px 0; }
    .token { border: 1px solid var(--line); border-radius: 4px; padding: 2px 6px; font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: 14px; }
    #output-tokens .token { cursor: pointer; }
    #output-tokens .token.active { outline: 2px solid var(--accent); }
    #source-tokens .token.strongest { outline: 2px solid #b3261e; }
    .kind { margin-top: 6px; }
    .maps { display: flex; flex-wrap: wrap; gap: 14px; }
    .map { font-size: 11px; margin: 0; }
    .map caption { text-align: left; color: var(--muted); padding-bottom: 2px; }
    .map table { border-collapse: collapse; }
    .map td { width: 16px; height: 16px; padding: 0; border: 1px solid #fff; }
    .map td.masked { background: repeating-linear-gradient(45deg, #f0f0f0, #f0f0f0 2px, #fff 2px, #fff 4px); }
    .map tr.active td { border-color: var(--accent); }
    .map th { font-weight: normal; color: var(--muted); padding: 0 4px; max-width: 90px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; font-family: ui-monospace, Menlo, monospace; }
    .map thead th { writing-mode: vertical-rl; transform: rotate(180deg); text-align: left; height: 70px; }
    #walkthrough table { border-collapse: collapse; margin: 4px 0 8px; font-size: 13px; }
    #walkthrough td, #walkthrough th { border: 1px solid var(--line); padding: 2px 6px; text-align: left; }
    #walkthrough td.number { text-align: right; font-variant-numeric: tabular-nums; }
    #walkthrough ol { padding-left: 20px; }
    """#
}
