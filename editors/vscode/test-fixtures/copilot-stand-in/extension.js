// Test-only (see package.json): one default chat model, so that VS Code's chat
// view hands requests to participants. PAIRED's participant does not use it;
// if anything does, it answers so, which the test would see.
"use strict";
const vscode = require("vscode");

function activate(context) {
  context.subscriptions.push(
    vscode.lm.registerLanguageModelChatProvider("copilot", {
      provideLanguageModelChatInformation: () => [
        { id: "stand-in", name: "Stand-in", family: "stand-in", version: "1", maxInputTokens: 100000, maxOutputTokens: 1000, capabilities: {}, isUserSelectable: true, isDefault: true },
      ],
      async provideLanguageModelChatResponse(_model, _messages, _options, progress) {
        progress.report(new vscode.LanguageModelTextPart("(the tests' stand-in model was asked)"));
      },
      provideTokenCount: async (_model, text) => (typeof text === "string" ? text.length : 1),
    }),
  );
}

module.exports = { activate, deactivate() {} };
