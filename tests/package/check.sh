#!/usr/bin/env bash
# The packages as a user gets them: packs `Dsl` and `Dsl.Onnx` into a local feed and builds, outside this repository, a
# console project that references `Dsl.Onnx` by package id alone (`Dsl` comes as its dependency), with its own packages
# folder (no stale copy from an earlier run). It passes when the generator runs from the package's analyzers folder
# (the model's code is generated), the program trains a few steps with the runtime from lib/, and the ONNX file it
# exports loads back (the exporter's own round trip is tested in the suite; here, that the packages fit together).
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "== dotnet pack src/Dsl.Package, src/Dsl.Onnx"
dotnet pack src/Dsl.Package -c Release -o "$work/feed" -v quiet --nologo
dotnet pack src/Dsl.Onnx -c Release -o "$work/feed" -v quiet --nologo
version=$(ls "$work/feed" | sed -n 's/^Dsl\.Onnx\.\(.*\)\.nupkg$/\1/p')
mkdir -p "$work/app"
cat > "$work/app/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="local" value="$work/feed" />
  </packageSources>
</configuration>
XML
cat > "$work/app/App.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <Nullable>enable</Nullable>
    <RestorePackagesPath>$work/packages</RestorePackagesPath>
    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="Dsl.Onnx" Version="$version" />
  </ItemGroup>
</Project>
XML
cat > "$work/app/Program.cs" <<'CS'
using System;
using System.IO;
using System.Numerics.Tensors;
using Dsl;

var model = new Tagger(seed: 1);
var optimizer = new Adam(model.Parameters, learningRate: 0.05f);
var tokens = Tensor.Create(new[] { 1, 2, 3, 4, 5, 6 }, [2, 3]);
var targets = Tensor.Create(new[] { 2, 3, 4, 5, 6, 7 }, [2, 3]);
float first = 0, last = 0;
for (int step = 0; step < 20; step++)
{
    model.Parameters.ZeroGrad();
    last = model.Backward(tokens, targets);
    if (step == 0) first = last;
    optimizer.Step();
}
if (!(last < first)) throw new InvalidOperationException($"training did not lower the loss: {first} -> {last}");
string path = Path.Combine(Path.GetTempPath(), $"dsl-package-check-{Guid.NewGuid():N}.onnx");
model.ExportOnnx(path);
long bytes = new FileInfo(path).Length;
File.Delete(path);
Console.WriteLine($"loss {first:F4} -> {last:F4}; ONNX export {bytes} bytes");

[Embedding(vocab: 10, dim: 8)]
[Lstm(hidden: 16)]
[Dense(10)]
public partial class Tagger;
CS
echo "== a console project referencing Dsl.Onnx $version by package id"
cd "$work/app"
dotnet restore --configfile nuget.config --source "$work/feed" --source https://api.nuget.org/v3/index.json -v quiet
dotnet run -c Release --no-restore
