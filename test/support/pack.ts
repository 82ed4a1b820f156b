// The package as `npm install` puts it in an app: packed by `npm pack` (whose prepack builds
// dist, as `npm publish` would), unpacked into node_modules/react-sso-kit, with the dependencies
// the app would have installed beside it taken from this repository's own install.
import { execFileSync } from "node:child_process";
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./readme.js";


/** Runs a command; a failure says what it printed. */
export function run(cmd: string, args: string[], cwd: string): string {
  try {
    return execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    const { stdout = "", stderr = "" } = err as { stdout?: string; stderr?: string };
    throw new Error(`${cmd} ${args.join(" ")} failed:\n${stdout}${stderr}`);
  }
}

/**
 * Packs the package into `tarballDir`, installs it in `appDir`'s node_modules with `deps` linked
 * beside it, and returns the tarball's path and where the package landed.
 */
export function installPacked(tarballDir: string, appDir: string, deps: readonly string[]): { tarball: string; pkgDir: string } {
  const name = run("npm", ["pack", "--silent", "--pack-destination", tarballDir], ROOT).trim().split("\n").at(-1) as string;
  const tarball = join(tarballDir, name);
  const pkgDir = join(appDir, "node_modules", "react-sso-kit");
  mkdirSync(pkgDir, { recursive: true });
  run("tar", ["-xzf", tarball, "-C", pkgDir, "--strip-components=1"], tarballDir);
  for (const dep of deps) {
    mkdirSync(join(appDir, "node_modules", dep, ".."), { recursive: true });
    symlinkSync(join(ROOT, "node_modules", dep), join(appDir, "node_modules", dep));
  }
  return { tarball, pkgDir };
}
