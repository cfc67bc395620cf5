package dev.lorafleet.common.spec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PathPolicyTest {
  @TempDir Path tmp;

  @Test
  void permissivePolicyAllowsAbsoluteAndRelativePathsButNoTraversal() {
    PathPolicy policy = PathPolicy.permissive();

    assertThat(policy.check("/anywhere/at/all.jsonl")).isEmpty();
    assertThat(policy.check("data/train.jsonl")).isEmpty();
    assertThat(policy.check("./data/train.jsonl")).isEmpty();
    assertThat(policy.check("data/../../etc/passwd")).isPresent();
    assertThat(policy.check("/data/%2e%2e/etc")).isPresent();
    assertThat(policy.check("/data/\0")).hasValue("must not contain NUL bytes");
    assertThat(policy.check(" ")).hasValue("must not be empty");
    assertThat(policy.check("/" + "a".repeat(PathPolicy.MAX_PATH_LENGTH))).isPresent();
  }

  @Test
  void absoluteOnlyPolicyRefusesRelativePaths() {
    assertThat(PathPolicy.absoluteOnly().check("data/train.jsonl")).isPresent();
    assertThat(PathPolicy.absoluteOnly().check("/data/train.jsonl")).isEmpty();
  }

  @Test
  void rootsPolicyAllowsOnlyPathsUnderTheRoots() {
    PathPolicy policy = PathPolicy.withinRoots(List.of(Path.of("/data")));

    assertThat(policy.check("/data/a.jsonl")).isEmpty();
    assertThat(policy.check("/data")).isEmpty();
    assertThat(policy.check("/database/a.jsonl"))
        .hasValue("is outside the allowed directories (/data)");
    assertThat(policy.check("/data/./a.jsonl")).isEmpty();
    assertThatThrownBy(() -> PathPolicy.withinRoots(List.of(Path.of("relative"))))
        .hasMessageContaining("must be an absolute path");
  }

  @Test
  void refusesSymbolicLinksThatLeadOutOfTheRoots() throws Exception {
    Path root = Files.createDirectories(tmp.resolve("data"));
    Path outside = Files.writeString(tmp.resolve("secret.jsonl"), "{}\n");
    Path inside = Files.writeString(root.resolve("ok.jsonl"), "{}\n");
    Path escape = Files.createSymbolicLink(root.resolve("escape.jsonl"), outside);
    Path dirLink = Files.createSymbolicLink(root.resolve("up"), tmp);
    PathPolicy policy = PathPolicy.withinRoots(List.of(root));

    assertThat(policy.check(escape.toString())).isEmpty(); // lexically fine …
    assertThat(policy.checkOnDisk(escape).orElseThrow()) // … but it leads out
        .startsWith("leads through a symbolic link to " + outside.toRealPath());
    assertThat(policy.checkOnDisk(dirLink.resolve("secret.jsonl"))).isPresent();
    assertThat(policy.checkOnDisk(inside)).isEmpty();
    assertThat(policy.checkOnDisk(root.resolve("missing.jsonl"))).isEmpty();
    assertThat(PathPolicy.permissive().checkOnDisk(escape)).isEmpty();
  }
}
