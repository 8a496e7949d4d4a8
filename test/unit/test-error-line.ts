// errorLine: a cause quoted in one line, the same failure always read the same way.
import * as assert from "node:assert/strict";

import { errorLine } from "../../provider/util/errors";

describe("errorLine", () => {
  it("keeps the first line and removes grpc-js's timestamps", () => {
    const err = new Error(
      "No connection established. Last error: connect ECONNREFUSED 10.200.1.10:7443 (2026-12-02T11:50:01.123Z)\n    at stack",
    );
    assert.equal(
      errorLine(err),
      "No connection established. Last error: connect ECONNREFUSED 10.200.1.10:7443",
    );
  });

  it("never cuts at a dot, so an address stays whole", () => {
    assert.equal(
      errorLine(new Error("the agent at 10.200.1.10:7443 did not answer")),
      "the agent at 10.200.1.10:7443 did not answer",
    );
  });

  it("cuts a long line at a word boundary with an ellipsis", () => {
    assert.equal(errorLine(new Error(`${"word ".repeat(20)}end`), 22), "word word word word…");
    assert.equal(errorLine(new Error("x".repeat(50)), 10), `${"x".repeat(10)}…`);
  });

  it("says what was thrown when it is not an Error", () => {
    assert.equal(errorLine("plain"), "plain");
  });
});
