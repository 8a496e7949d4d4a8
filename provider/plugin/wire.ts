// The plugin protocol's property values, turned into the plain data the resource providers take and back.
// A provider plugin that accepts secrets (the Node SDK's server says so in Configure) receives secret values
// wrapped as `{<sig>: <secret sig>, value}` and may return them so; the dynamic provider never sees either.
import { UNKNOWN_VALUE } from "../resources/common";

/** The engine's special-value signature key and the kinds it marks (sdk/go/common/resource/sig). */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4";

type Props = Record<string, unknown>;

function isObject(v: unknown): v is Props {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `value` without secret and output-value wrappers (an output value without a value is unknown); `secret`
 *  is set when a secret was found anywhere inside. */
function unwrapValue(value: unknown, found: { secret: boolean }): unknown {
  if (Array.isArray(value)) return value.map((v) => unwrapValue(v, found));
  if (!isObject(value)) return value;
  const sig = value[SIG_KEY];
  if (sig === SECRET_SIG) {
    found.secret = true;
    return unwrapValue(value.value, found);
  }
  if (sig === OUTPUT_SIG) {
    if (value.secret === true) found.secret = true;
    return "value" in value ? unwrapValue(value.value, found) : UNKNOWN_VALUE;
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapValue(v, found)]));
}

/** The plain properties and the top-level keys that held a secret. */
export function unwrapProps(props: Props | undefined): { plain: Props; secretKeys: Set<string> } {
  const plain: Props = {};
  const secretKeys = new Set<string>();
  for (const [k, v] of Object.entries(props ?? {})) {
    const found = { secret: false };
    plain[k] = unwrapValue(v, found);
    if (found.secret) secretKeys.add(k);
  }
  return { plain, secretKeys };
}

/** `props` with the top-level keys named in `secretKeys` wrapped as secrets, so the engine encrypts them. */
export function wrapSecrets(props: Props, secretKeys: ReadonlySet<string>): Props {
  return Object.fromEntries(
    Object.entries(props).map(([k, v]) =>
      secretKeys.has(k) && v !== null && v !== UNKNOWN_VALUE
        ? [k, { [SIG_KEY]: SECRET_SIG, value: v }]
        : [k, v],
    ),
  );
}
