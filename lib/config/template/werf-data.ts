// The data werf passes as dot when rendering werf.yaml (pkg/config/parser.go renderWerfConfigYaml).

/**
 * `.Files`, implemented by the caller over the project's git tree. Methods throw to fail the
 * render (werf panics, which the template reports as "error calling Get: ...").
 */
export interface TemplateFiles {
  /** file content; a missing file is an error in werf v1.2+ */
  Get(path: string): string;
  /** path → content for regular files matching a doublestar glob; werf v2 fails on no match */
  Glob(pattern: string): Record<string, string>;
  Exists(path: string): boolean;
  IsDir(path: string): boolean;
}

/** The root map (`.`) of werf.yaml; templates add keys to it with `set`. */
export interface WerfTemplateData {
  Files: TemplateFiles;
  /** --env / WERF_ENV */
  Env: string;
  Commit: {
    Hash: string;
    /** Date.Human is time.Time.String() of the HEAD commit; Date.Unix is seconds as a decimal string */
    Date: { Human: string; Unix: string };
  };
  [key: string]: unknown;
}
