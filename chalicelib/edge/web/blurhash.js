// A BlurHash decoder (https://blurha.sh, the algorithm by Wolt), written for
// imgstore from the format's description: base83 digits, one DC colour and
// (x*y - 1) AC components, summed as cosines into a small RGBA bitmap.
const DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~";

function base83(text) {
  let value = 0;
  for (const ch of text) {
    const digit = DIGITS.indexOf(ch);
    if (digit < 0) throw new Error(`not a BlurHash character: ${ch}`);
    value = value * 83 + digit;
  }
  return value;
}

function toLinear(channel) {
  const v = channel / 255;
  return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
}

function toSRGB(value) {
  const v = Math.max(0, Math.min(1, value));
  return v <= 0.0031308 ? Math.round(v * 12.92 * 255 + 0.5) : Math.round((1.055 * Math.pow(v, 1 / 2.4) - 0.055) * 255 + 0.5);
}

const signedSquare = (v) => Math.sign(v) * v * v;

/** The components of `hash`, or throws when it is malformed. */
export function components(hash) {
  if (typeof hash !== "string" || hash.length < 6) throw new Error("BlurHash too short");
  const size = base83(hash[0]);
  const across = (size % 9) + 1;
  const down = Math.floor(size / 9) + 1;
  if (hash.length !== 4 + 2 * across * down) throw new Error("BlurHash length does not match its size");
  const maximum = (base83(hash[1]) + 1) / 166;
  const dc = base83(hash.slice(2, 6));
  const colours = [[toLinear(dc >> 16), toLinear((dc >> 8) & 255), toLinear(dc & 255)]];
  for (let i = 1; i < across * down; i++) {
    const ac = base83(hash.slice(4 + i * 2, 6 + i * 2));
    colours.push([
      signedSquare((Math.floor(ac / 361) - 9) / 9) * maximum,
      signedSquare(((Math.floor(ac / 19) % 19) - 9) / 9) * maximum,
      signedSquare(((ac % 19) - 9) / 9) * maximum,
    ]);
  }
  return { across, down, colours };
}

/** RGBA pixels (Uint8ClampedArray) of `hash` drawn at width x height. */
export function decode(hash, width, height) {
  const { across, down, colours } = components(hash);
  const pixels = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let r = 0, g = 0, b = 0;
      for (let j = 0; j < down; j++) {
        const cy = Math.cos((Math.PI * y * j) / height);
        for (let i = 0; i < across; i++) {
          const basis = Math.cos((Math.PI * x * i) / width) * cy;
          const c = colours[i + j * across];
          r += c[0] * basis; g += c[1] * basis; b += c[2] * basis;
        }
      }
      const at = 4 * (x + y * width);
      pixels[at] = toSRGB(r); pixels[at + 1] = toSRGB(g); pixels[at + 2] = toSRGB(b); pixels[at + 3] = 255;
    }
  }
  return pixels;
}

/** Paint `hash` on `canvas` (its own width and height); false when the hash is unusable. */
export function paint(canvas, hash) {
  try {
    const pixels = decode(hash, canvas.width, canvas.height);
    canvas.getContext("2d").putImageData(new ImageData(pixels, canvas.width, canvas.height), 0, 0);
    return true;
  } catch {
    return false;
  }
}
