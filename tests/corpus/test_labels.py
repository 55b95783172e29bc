"""Label files of the datasets researchers own: detected from their content, bad ones refused in one line."""

import json

import pytest

from finevidbench.cli import main as cli
from finevidbench.corpus.labels import LabelError, kinetics_id, read_label_set, ssv2_class

SSV2 = [
    {
        "id": "78687",
        "label": "holding potato next to vicks vaporub bottle",
        "template": "Holding [something] next to [something]",
        "placeholders": ["potato", "vicks vaporub bottle"],
    },
    {
        "id": "42326",
        "label": "spreading margarine onto bread",
        "template": "Spreading [something] onto [something]",
        "placeholders": ["margarine", "bread"],
    },
]
KINETICS = (
    "label,youtube_id,time_start,time_end,split\nabseiling,--07WQ2iBlw,1,11,train\nair drumming,-eGnPDG5Pxs,20,30,val\n"
)


def test_each_format_is_detected_from_the_content_alone(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(SSV2))
    (tmp_path / "b.txt").write_text(KINETICS)
    (tmp_path / "c.data").write_text("video,action,effect\nvideos/x.mp4,move_left,\ny.mp4,grow,bigger\n")
    ssv2, kinetics, ours = (read_label_set(tmp_path / name) for name in ("a.json", "b.txt", "c.data"))
    assert (ssv2.format, kinetics.format, ours.format) == ("ssv2", "kinetics", "csv")
    assert ssv2.rows == {
        "78687": {"action": "Holding something next to something"},
        "42326": {"action": "Spreading something onto something"},
    }
    assert kinetics.rows == {
        "--07WQ2iBlw_000001_000011": {"action": "abseiling"},
        "-eGnPDG5Pxs_000020_000030": {"action": "air drumming"},
    }
    assert ours.rows == {"x": {"action": "move_left"}, "y": {"action": "grow", "effect": "bigger"}}


def test_kinetics_ids_keep_dashes_and_underscores_and_a_split_is_chosen_by_its_column(tmp_path):
    assert kinetics_id("_-a_b-c_d-e", "0", "10.0") == "_-a_b-c_d-e_000000_000010"
    (tmp_path / "k.csv").write_text(KINETICS)
    assert list(read_label_set(tmp_path / "k.csv", split="val").rows) == ["-eGnPDG5Pxs_000020_000030"]


def test_ssv2_classes_are_its_174_templates_without_brackets():
    assert ssv2_class("Putting [something] on a  surface") == "Putting something on a surface"


@pytest.mark.parametrize(
    "folder, words",
    [
        ("RidingABike", "Riding a bike"),
        ("ApplyEyeMakeup", "Apply eye makeup"),
        ("YoYo", "Yo yo"),
        ("PlayingDaf", "Playing daf"),
        ("HandstandPushups", "Handstand pushups"),
        ("Archery", "Archery"),
        ("ride_bike", "ride bike"),
        ("sword_exercise", "sword exercise"),
        ("TaiChi", "Tai chi"),
        ("PlayingTV", "Playing TV"),
    ],
)
def test_class_folders_read_as_words(folder, words):
    """UCF101's CamelCase and HMDB51's snake_case names become the words options are written in."""
    from finevidbench.corpus.labels import folder_class

    assert folder_class(folder) == words


def test_folder_classes_reach_the_labels_in_words_and_the_other_formats_stay_as_written(tmp_path):
    (tmp_path / "videos" / "RidingABike").mkdir(parents=True)
    (tmp_path / "videos" / "RidingABike" / "v_RidingABike_g01_c01.avi").write_bytes(b"")
    assert read_label_set("folders", tmp_path / "videos").rows == {"v_RidingABike_g01_c01": {"action": "Riding a bike"}}
    (tmp_path / "ours.csv").write_text("video,action\nx.mp4,RidingABike\n")
    (tmp_path / "kinetics.csv").write_text("label,youtube_id,time_start,time_end\nRidingABike,abc,1,11\n")
    assert read_label_set(tmp_path / "ours.csv").rows == {"x": {"action": "RidingABike"}}  # as written
    assert read_label_set(tmp_path / "kinetics.csv").rows == {"abc_000001_000011": {"action": "RidingABike"}}


def test_folders_take_the_class_from_the_folder_and_a_split_list_chooses_videos(tmp_path):
    for name in ("Archery/v_Archery_g01_c01.avi", "Archery/v_Archery_g02_c01.avi", "Biking/v_Biking_g01_c01.avi"):
        (tmp_path / "videos" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "videos" / name).write_bytes(b"")
    every = read_label_set("folders", tmp_path / "videos")
    assert every.rows == {
        "v_Archery_g01_c01": {"action": "Archery"},
        "v_Archery_g02_c01": {"action": "Archery"},
        "v_Biking_g01_c01": {"action": "Biking"},
    }
    (tmp_path / "testlist01.txt").write_text("Archery/v_Archery_g02_c01.avi\nBiking/v_Biking_g01_c01.avi\n")
    ucf = read_label_set("folders", tmp_path / "videos", split=str(tmp_path / "testlist01.txt"))
    assert sorted(ucf.rows) == ["v_Archery_g02_c01", "v_Biking_g01_c01"]
    (tmp_path / "archery_test_split1.txt").write_text("v_Archery_g01_c01.avi 1\nv_Archery_g02_c01.avi 2\n")
    (tmp_path / "biking_test_split1.txt").write_text("v_Biking_g01_c01.avi 1\n")
    hmdb = read_label_set("folders", tmp_path / "videos", split=str(tmp_path / "*_test_split1.txt"))
    assert list(hmdb.rows) == ["v_Archery_g02_c01"]  # tag 2, the test split
    train = read_label_set("folders", tmp_path / "videos", split=f"{tmp_path / '*_test_split1.txt'}:1")
    assert sorted(train.rows) == ["v_Archery_g01_c01", "v_Biking_g01_c01"]


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("notes.txt", "just some notes\n", r"not a labels file this builder knows; formats: csv .* ssv2 .* kinetics"),
        ("labels.csv", "video,action\nx.mp4,caf\xe9\n".encode("latin-1"), r"not UTF-8 text \(byte 22.*fix: convert"),
        ("dup.json", json.dumps([SSV2[0], SSV2[0]]), r"entry 1: video id '78687' is labelled twice"),
        ("dup.csv", KINETICS + "abseiling,--07WQ2iBlw,1,11,val\n", r"line 4: video id '--07WQ2iBlw_000001_000011'"),
        ("test.json", json.dumps([{"id": "1"}]), r"no 'template'.*SSv2's test labels have none"),
        ("bad.json", "[{", r"looks like JSON but does not parse"),
    ],
)
def test_a_bad_labels_file_is_one_clear_line(tmp_path, capsys, name, content, message):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(LabelError, match=message):
        read_label_set(path)
    (tmp_path / "videos").mkdir()
    code = cli(["build", "--videos", str(tmp_path / "videos"), "--labels", str(path), "--out", str(tmp_path / "o")])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("finevidbench build: ") and "\n" not in err and str(path) in err


def test_folders_without_class_folders_and_unknown_formats_say_the_fix(tmp_path):
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "a.mp4").write_bytes(b"")
    with pytest.raises(LabelError, match="needs one folder per class"):
        read_label_set("folders", tmp_path / "flat")
    with pytest.raises(LabelError, match="not one of"):
        read_label_set("x.csv", label_format="ava")
