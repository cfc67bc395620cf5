package dev.lorafleet.common.spec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Which file paths a job spec may name. Every policy refuses traversal tricks ({@code ..}
 * components, percent-encoded dots and slashes, NUL and control characters, URLs, {@code ~}). The
 * default ({@link #permissive()}) then allows any absolute or relative path; a coordinator that
 * serves other people configures {@link #withinRoots(List)}: only absolute paths under those
 * directories, also after following symbolic links ({@link #checkOnDisk(Path)}).
 */
public final class PathPolicy {
  /** Longer paths than this are refused (Linux's PATH_MAX). */
  public static final int MAX_PATH_LENGTH = 4096;

  // %2e '.', %2f '/', %5c '\', %25 '%' (double encoding), %00 NUL: the encodings traversal uses.
  private static final Pattern ENCODED_TRICK =
      Pattern.compile("%(2e|2f|5c|25|00)", Pattern.CASE_INSENSITIVE);

  private final List<Path> roots;
  private final boolean allowRelative;

  private PathPolicy(List<Path> roots, boolean allowRelative) {
    this.roots = List.copyOf(roots);
    this.allowRelative = allowRelative;
  }

  /** Any absolute or relative path without traversal tricks (the default). */
  public static PathPolicy permissive() {
    return new PathPolicy(List.of(), true);
  }

  /** Only absolute paths, anywhere (what a coordinator needs: it has no "current directory"). */
  public static PathPolicy absoluteOnly() {
    return new PathPolicy(List.of(), false);
  }

  /** Only absolute paths inside one of {@code roots}, also after following symbolic links. */
  public static PathPolicy withinRoots(List<Path> roots) {
    if (roots.isEmpty()) {
      throw new IllegalArgumentException("withinRoots needs at least one allowed directory");
    }
    List<Path> normalized = new ArrayList<>();
    for (Path root : roots) {
      if (!root.isAbsolute()) {
        throw new IllegalArgumentException(
            "allowed directory '" + root + "' must be an absolute path");
      }
      normalized.add(root.normalize());
    }
    return new PathPolicy(normalized, false);
  }

  /** The allowed directories; empty when any directory is allowed. */
  public List<Path> roots() {
    return roots;
  }

  /**
   * Checks a path as written in a spec, without touching the file system.
   *
   * @return what is wrong with it, or empty when it is acceptable
   */
  public Optional<String> check(String path) {
    if (path.isBlank()) {
      return Optional.of("must not be empty");
    }
    if (path.length() > MAX_PATH_LENGTH) {
      return Optional.of("is longer than " + MAX_PATH_LENGTH + " characters");
    }
    if (path.indexOf('\0') >= 0) {
      return Optional.of("must not contain NUL bytes");
    }
    for (int i = 0; i < path.length(); i++) {
      char c = path.charAt(i);
      if (c < 0x20 || c == 0x7f) {
        return Optional.of("must not contain control characters (found one at position " + i + ")");
      }
    }
    if (path.contains("://")) {
      return Optional.of("must be a local file path, not a URL");
    }
    if (ENCODED_TRICK.matcher(path).find()) {
      return Optional.of(
          "must not contain percent-encoded characters such as %2e or %2f; write the path as it"
              + " is on disk");
    }
    for (String component : path.split("[/\\\\]")) {
      if (component.equals("..")) {
        return Optional.of("must not contain '..' (paths may not climb out of a directory)");
      }
    }
    if (path.startsWith("~")) {
      return Optional.of("must not start with '~' (it is not expanded); write the full path");
    }
    Path parsed;
    try {
      parsed = Path.of(path);
    } catch (InvalidPathException e) {
      return Optional.of("is not a valid path: " + e.getReason());
    }
    if (!parsed.isAbsolute() && !allowRelative) {
      return Optional.of("must be an absolute path (the coordinator has no working directory)");
    }
    if (!roots.isEmpty() && roots.stream().noneMatch(root -> parsed.normalize().startsWith(root))) {
      return Optional.of("is outside the allowed directories " + describeRoots());
    }
    return Optional.empty();
  }

  /**
   * Checks where an existing path really leads: with allowed directories configured, a symbolic
   * link anywhere along it must not lead outside them. A path that does not exist passes (the
   * caller reports it missing).
   *
   * @return what is wrong with it, or empty when it is acceptable
   */
  public Optional<String> checkOnDisk(Path path) {
    if (roots.isEmpty() || !Files.exists(path)) {
      return Optional.empty();
    }
    Path real;
    try {
      real = path.toRealPath();
    } catch (IOException e) {
      return Optional.of("cannot be resolved: " + e.getMessage());
    }
    for (Path root : roots) {
      if (real.startsWith(realRoot(root))) {
        return Optional.empty();
      }
    }
    return Optional.of(
        "leads through a symbolic link to "
            + real
            + ", outside the allowed directories "
            + describeRoots());
  }

  private static Path realRoot(Path root) {
    try {
      return root.toRealPath();
    } catch (IOException e) {
      return root;
    }
  }

  private String describeRoots() {
    return roots.stream().map(Path::toString).collect(Collectors.joining(", ", "(", ")"));
  }

  @Override
  public String toString() {
    if (roots.isEmpty()) {
      return allowRelative ? "any path" : "any absolute path";
    }
    return "absolute paths under " + describeRoots();
  }
}
