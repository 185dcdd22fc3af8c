"""Hangul syllables of KS X 1001, most frequent first, as counted by
``benchmarks/hangul_frequency.py`` (generated: do not edit; run it again). Counted from
540,956 syllables of 80 Korean message catalogues (software's and dqm's own);
the 1,037 met 1 times or more, of the 2,350."""

INPUT_SHA256S = {
    "dqm/locale/ko/LC_MESSAGES/dqm.po@d40e1ea2": "37bec30d502a4c16e950a58bdf3949a6bbbbd8ff8b497558984a6e55e14fb028",
    "BODY_SITES, MIN_COUNT, MIN_HANJA, CATALOGUES": "96061dd76d94828fbea356784ea54267403db68a565f2072124a3edf15acbe48",
    "/usr/share/locale/ko/LC_MESSAGES/Linux-PAM.mo": "e0c2a222d5efde24e64ac2089af987e07cb4a03f1263e1ddca2b01f452dba006",
    "/usr/share/locale/ko/LC_MESSAGES/PackageKit.mo": "e911ce291a1eae2e943bfb8e69b8d1ca77cddd50b8c4eb56f361025e1d1d4519",
    "/usr/share/locale/ko/LC_MESSAGES/adduser.mo": "b3593e26d69a3d4f980310fe1bd835009a08d41773085d59ebfc292289edf257",
    "/usr/share/locale/ko/LC_MESSAGES/appstream.mo": "7c08563c0517c495cedd952a1f39751fde5f2062d2ff63f2f53f8baa425e7878",
    "/usr/share/locale/ko/LC_MESSAGES/apt.mo": "01f8991d0b8cb1b95b7419f7ee58489aaf1fcafbdb1e220c2167986b3c9b14cc",
    "/usr/share/locale/ko/LC_MESSAGES/at-spi2-core.mo": "381278fcca5650b7f6bfa15a156fca82abee79bd821f6b10da07f6d92a105e4c",
    "/usr/share/locale/ko/LC_MESSAGES/avahi.mo": "54d77c51f467f5fab5c9960b046f2ab9a7f436338e0b777f24af3b03edaa4377",
    "/usr/share/locale/ko/LC_MESSAGES/bash.mo": "43a49fc7e56aed2158b0b2c69522a8668e6b32be92fa7b7ef2659c77182f6828",
    "/usr/share/locale/ko/LC_MESSAGES/coreutils.mo": "64c1ff59eca29e1736c2b02b935bbaf255d0561c8c48530db0966fdfccc3d1a3",
    "/usr/share/locale/ko/LC_MESSAGES/cups-pk-helper.mo": "9af421dbe9e2e3302541ce8d047b7736fb3f1f5721bff10e42b070d9c6e93859",
    "/usr/share/locale/ko/LC_MESSAGES/dpkg.mo": "3bd709cabd656bb4148067532213b95c0312f1a5459b00f4ae93031c7f1af188",
    "/usr/share/locale/ko/LC_MESSAGES/findutils.mo": "56d162fa463d76226fd65763a36886982a6cfa02414353a683a607e29531841f",
    "/usr/share/locale/ko/LC_MESSAGES/gdk-pixbuf.mo": "f53e75318cc3e7cd941563006a5548ee9fba1a6834d499181e7c964155cee5f0",
    "/usr/share/locale/ko/LC_MESSAGES/gettext-runtime.mo": "79eee949883f5ff651ac9a3b6e73d9754b863262a225817dbbe441e6ff9d3a59",
    "/usr/share/locale/ko/LC_MESSAGES/gettext-tools.mo": "475ae09e2bfed1420d891e0a3594a98b37de4daffee5c27535ac483e2f769047",
    "/usr/share/locale/ko/LC_MESSAGES/git.mo": "bb29144aeb6ff5cbb109e58bceca1c5e2be86a042305e90bd0c5763c72b43ab1",
    "/usr/share/locale/ko/LC_MESSAGES/glib20.mo": "3d99edf96162ba324340db4ee3d82433ac00aa952e09c4382490a4dbb3fd5555",
    "/usr/share/locale/ko/LC_MESSAGES/grep.mo": "79961772fe638c98259aedff53968b76df5256a2862728d3cee8e90f50bf9bb8",
    "/usr/share/locale/ko/LC_MESSAGES/gstreamer-1.0.mo": "6e2e247a9afd7737a0e51c61f8f87099270223a451d61e3fd1dadaf66c4736b3",
    "/usr/share/locale/ko/LC_MESSAGES/gtk20-properties.mo": "06ff47520efe2ec579d18300df0f6f4fa7e0f573d76be6f6e1185601b60887c9",
    "/usr/share/locale/ko/LC_MESSAGES/gtk20.mo": "963f7665fa5e2a02f1d0400db7e5af5fbf6ffa092198a135477970fc9cb1f551",
    "/usr/share/locale/ko/LC_MESSAGES/gtk30-properties.mo": "7c561b1e09439fddcbd3e73f8a03de73f31320ae69eff9d025c8d7ff36f4cd8d",
    "/usr/share/locale/ko/LC_MESSAGES/gtk30.mo": "5fb4fc3d8d6a3dcb884c0a26ef372872ee76b0207245f19bea46c235073074d1",
    "/usr/share/locale/ko/LC_MESSAGES/initdb-15.mo": "ac4cfa78a68d746d57ae5be051522e9c925b45a8968ac5b8cd2629fe9e3f2ff0",
    "/usr/share/locale/ko/LC_MESSAGES/iso_15924.mo": "3644728029743e0b9fd79c4aad317df8d70263857e3a50c8b1431d72c5fd7238",
    "/usr/share/locale/ko/LC_MESSAGES/iso_3166-1.mo": "23a6705d2ed8f41bb9299c914a51899808d2061c25fed9371651b3209559c47d",
    "/usr/share/locale/ko/LC_MESSAGES/iso_3166-2.mo": "f3dd0fb4efe65dd554edb7c472f8f060a9db41637bccd225ec7b83a58c5c0dd2",
    "/usr/share/locale/ko/LC_MESSAGES/iso_3166-3.mo": "f7e64fe2a283fa836e3ab502aee0c2d9be3ac1064967fe9c4bdd8001a6425bd9",
    "/usr/share/locale/ko/LC_MESSAGES/iso_3166.mo": "23a6705d2ed8f41bb9299c914a51899808d2061c25fed9371651b3209559c47d",
    "/usr/share/locale/ko/LC_MESSAGES/iso_3166_2.mo": "f3dd0fb4efe65dd554edb7c472f8f060a9db41637bccd225ec7b83a58c5c0dd2",
    "/usr/share/locale/ko/LC_MESSAGES/iso_4217.mo": "46d84346bf1933009c457623ce433daebb829b4dd4abf972384a265e4b4d2b59",
    "/usr/share/locale/ko/LC_MESSAGES/iso_639-2.mo": "4de4a80c9bbedde97acd061585a1e5f139f9bd0546b44f5d38b5c3ac8535cd14",
    "/usr/share/locale/ko/LC_MESSAGES/iso_639-3.mo": "6b22f43555c28e592262ee860394860db011176547d494d6f0ff3dccd1127d33",
    "/usr/share/locale/ko/LC_MESSAGES/iso_639.mo": "4de4a80c9bbedde97acd061585a1e5f139f9bd0546b44f5d38b5c3ac8535cd14",
    "/usr/share/locale/ko/LC_MESSAGES/iso_639_3.mo": "6b22f43555c28e592262ee860394860db011176547d494d6f0ff3dccd1127d33",
    "/usr/share/locale/ko/LC_MESSAGES/libapt-pkg6.0.mo": "8a62f863f54ee3dd4cc417f73090c7d3a54778c8b8123c43ed4d765b4affbb9c",
    "/usr/share/locale/ko/LC_MESSAGES/libc.mo": "37a73fd515ba7d1019103b424b6c3644e86a1461452ff6c9ab2d809af2cdef7f",
    "/usr/share/locale/ko/LC_MESSAGES/libhandy.mo": "6afc719ebc29c06d30e0aeeaf7fa52d5c636de8e647e87b3563d030cb4b9eaac",
    "/usr/share/locale/ko/LC_MESSAGES/libpq5-15.mo": "e4bc17dd5b82c7fa7661dc3235b666b78f581c57f4f57c4b82bb384558b96377",
    "/usr/share/locale/ko/LC_MESSAGES/libsecret.mo": "bbe9b1b643bf2528ce53344c3fa212398540c27963f7be6db20ac818f7512aea",
    "/usr/share/locale/ko/LC_MESSAGES/make.mo": "640f71cc2fe2d6470b7e5fbe1d89e8f879493e907690315ef527f3433eeb9dd0",
    "/usr/share/locale/ko/LC_MESSAGES/man-db-gnulib.mo": "085857f3d1ff126fe6376f0ea99b713b9281048a694280b123f49d4a6a1e0ecd",
    "/usr/share/locale/ko/LC_MESSAGES/man-db.mo": "ecc5462304a681eee78ec1c0f30d842d7f4c8beaa26f257c900a10af4c0c18e3",
    "/usr/share/locale/ko/LC_MESSAGES/notification-daemon.mo": "46a96c53b24cc9518bdde807d7a151688fdbeb4b80f33af199420f14fdda9082",
    "/usr/share/locale/ko/LC_MESSAGES/pg_amcheck-15.mo": "2b48f6fa797c6e89602bdcbcfd55eadf660dc17e902cf9d82fcd0240ac01c219",
    "/usr/share/locale/ko/LC_MESSAGES/pg_archivecleanup-15.mo": "ce3a4aa71e71d17b54a7f0d73e5034b0afbc2fe995b4b854b5fbfaf3584661ff",
    "/usr/share/locale/ko/LC_MESSAGES/pg_basebackup-15.mo": "a11ce43b1b067f602b05c35e0d5a9434b0ef40e7eda185154ea8f5b85dd44434",
    "/usr/share/locale/ko/LC_MESSAGES/pg_checksums-15.mo": "e29a16cdd81992d6899af4cf896426be2c378d729f1e61030bd278bd63467981",
    "/usr/share/locale/ko/LC_MESSAGES/pg_config-15.mo": "b96cb74ad9f439bc43f4b93eda0f0984492d5840dd02b4fd19f6314aad29e217",
    "/usr/share/locale/ko/LC_MESSAGES/pg_controldata-15.mo": "4437d1ce0f99507d3a41ff343f50d092ca8f135b04234f5e2d5788d31b04bc2e",
    "/usr/share/locale/ko/LC_MESSAGES/pg_ctl-15.mo": "7acac0e6803848645f27f18dea2659f7b7c64e3f32d689d44fbe98082c02947b",
    "/usr/share/locale/ko/LC_MESSAGES/pg_dump-15.mo": "e0a9c3c0cf69fc339b2e0478430940295699f4aff25170086838b1904cdf3543",
    "/usr/share/locale/ko/LC_MESSAGES/pg_resetwal-15.mo": "6b0f727aebf045f68e2aea42c2faa104cff8ba8163f9f61a6d2798baec5e804c",
    "/usr/share/locale/ko/LC_MESSAGES/pg_rewind-15.mo": "d2705634b7b40fb6fdd49ac39e57ffa3e00880c23e1e37fc5d7e71d1bc24b1d4",
    "/usr/share/locale/ko/LC_MESSAGES/pg_test_fsync-15.mo": "2fbc6678dda7e93a6992c6339b0c5bbd7ddc0904483157d359b8449e8e1712db",
    "/usr/share/locale/ko/LC_MESSAGES/pg_test_timing-15.mo": "c8de0b104f576d97d71dce472bfe0b7fee5479352013ea9a8c7e2edbb4e165a9",
    "/usr/share/locale/ko/LC_MESSAGES/pg_upgrade-15.mo": "29d6e85bbb424e545c5b43ced21ce3e658751cebafe841b8bb442bec6bb385b8",
    "/usr/share/locale/ko/LC_MESSAGES/pg_verifybackup-15.mo": "2bd8be3a1fdaadb2c8a7a14502d24d232676c846bddf86aa3c4cda17585710ec",
    "/usr/share/locale/ko/LC_MESSAGES/pg_waldump-15.mo": "f77106630aade86e79185154276f8a7a5372fbe287be2531dbd3c95592e1d6ad",
    "/usr/share/locale/ko/LC_MESSAGES/pgscripts-15.mo": "34cdbf9c72d204e794b67130839a89b088e5305378cab8afe2f43811d54f51f7",
    "/usr/share/locale/ko/LC_MESSAGES/plpgsql-15.mo": "db793c1dbdf0311ac3981ef2fd81a986b88d92eb5530e2e75fe11d4ae5b846af",
    "/usr/share/locale/ko/LC_MESSAGES/popt.mo": "b49d5900cb86e53732ce1668f65bb09d45a839eaffbeb6eefca942db56daa7f5",
    "/usr/share/locale/ko/LC_MESSAGES/postgres-15.mo": "8eb490bf7d59943ee08478bfdfd0a060e5fb4ee9065193ced76066b88ca09864",
    "/usr/share/locale/ko/LC_MESSAGES/procps-ng.mo": "a165a0aeaa34e4203484ccebcc9892014ee8405018254bdf17a34edb64efabc1",
    "/usr/share/locale/ko/LC_MESSAGES/psql-15.mo": "4b635a90170068901ac0fa14d744d40c9419daaceb104764e60d51e335f3c076",
    "/usr/share/locale/ko/LC_MESSAGES/python-apt.mo": "03cbf4bbbb84d15979c5155e75b8ff8d139d2e3999a07150d4349ee3b27d2fe7",
    "/usr/share/locale/ko/LC_MESSAGES/sed.mo": "e8d075cfdb532dcb7d47fbea3728532a15962b5aea5e7a61b301567f9edc3b24",
    "/usr/share/locale/ko/LC_MESSAGES/shadow.mo": "9b2377b52cc5016dc801f3525ca7496880569c83458815a6dcb7ec7eec4cca15",
    "/usr/share/locale/ko/LC_MESSAGES/shared-mime-info.mo": "910dbf6844571a4066300ade59ea08d3c16b7cb82a6221f960d3b4e046df4006",
    "/usr/share/locale/ko/LC_MESSAGES/software-properties.mo": "7cefc9e13dfc94e090a289d5a2e73a32b78ccefcebc1417823ecb87dc4646110",
    "/usr/share/locale/ko/LC_MESSAGES/system-config-printer.mo": "75b93a0ce0c14bf31ee8e7a4de21a4b522dc9df0f9d3a90cdac665b906f5c1d4",
    "/usr/share/locale/ko/LC_MESSAGES/systemd.mo": "d85da00f3aa0d7c92851ce867aec65e94e7826e5552b0a4db4f918d26e7a8f90",
    "/usr/share/locale/ko/LC_MESSAGES/tar.mo": "ec5fe7f44c399c50f06859505d3ede3ff395bd8bfd4c8142c3f2a8e38c1e199c",
    "/usr/share/locale/ko/LC_MESSAGES/wget-gnulib.mo": "661fba50c1bc22990de4769dbe8d720b8d5df4b7e028fb8a771110cf46ecad6e",
    "/usr/share/locale/ko/LC_MESSAGES/wget.mo": "29baa2348cacc1754ef83fa51db3f3a25434c9926bed6b6d1e1814ce0e32989d",
    "/usr/share/locale/ko/LC_MESSAGES/xdg-user-dirs.mo": "9681089c4e8e274355366b3b43420469d5ddbd7a27790253741158281f0e6e73",
    "/usr/share/locale/ko/LC_MESSAGES/xkeyboard-config.mo": "cd47635a75f14f74324e5a0e3e09039a400cd0b24b869206f37a7856fa1a881b",
    "/usr/share/locale/ko/LC_MESSAGES/xz.mo": "f12240090bcf65515629a74388554d75995781caf9ebfa218ce36b9979498826",
    "/usr/share/vim/vim90/lang/ko/LC_MESSAGES/vim.mo": "80f6ba3ae2d379e8f36812ff4b75c3c0fecf143ae90a64916b45857181042f91",
    "/usr/share/perl/5.36/Unicode/Collate/CJK/Korean.pm": "e2fd3f68418ab0aac09a0d5e459f289d0ec8e10a314e6e2fae4979eb2e5a8bb7",
}
"""The SHA-256 of each input counted, by its name (the repository's) or path (an installed
file's): ``benchmarks/hangul_frequency.py``, ``repository_digests`` and ``installed_digests``."""

RANKED = (
    "이다니지을에수습는로를가하없시자스일의정기파어용서음합사리트할인은한오아않드위션"
    "터있문그대보제상으치만값부표프름크모작옵해함실입라나고바패도전력중데버형된명식소"
    "여면행경키되설요열업디개들목구성못세과비메적록블레변장미호출거조번잘동령류테화야"
    "료마내단원필환주타태브체읽우했렉현너유코추무재연항공간복와더러안분본었색계선포십"
    "결래당반검려르커른줄최슬베페때또알진임속확방저능접절배았준건텍퍼두랜백럼카참처각"
    "택끝국발새증초클법템칼매찾든게종덱쓰신예됨쪽링생같산티영밋활닙램토관젯역플져집숫"
    "운것병널림축글렬허린쓸딩삭권올범근째룹별릴규통폴뒤헤맞석외젝청따향직볼창까순언격"
    "길꾸턴됩불압약남콘완받롤런말뉴암막후노잭많루존컨점및심며셀케투립양듈될컬쿼네쇄움"
    "밀히피픽졌돌감캐누빠붙잠꼴릭닌금칙꿀셸웨셋빈왼닫충워냅독취넘교등판족께뷰앞편벗탭"
    "견콜살큰듭님효질날차특강달묶채급엔평갈높뜀란납났응켓덮락벨핑울손객떤침춤혹델율긴"
    "먼윈퀀롯짜넣슈낼년획섬첫씁랑략회깁싱갑머측므칠꿈품량덤책련귀벤술짐릅월컴애균뀌탈"
    "깃논캘릿푸봉탐람물폭큼힌옴틀갯롬송밖잡탄꿉쿠옮핸섹액칸론북큽룰괄옛롭맵엘온김률깅"
    "답줍즈학겟난멈숨핀랍민빌줌륨맨짝틴끊둘럭웃톡겹빔염렸멀썬짓튜늘징빼윤탬놓렇짧홈눌"
    "층횟겠골웁총팔곽쳐황풀험깊밍팅겨낮덴얼왑칭멤쉼앙얻혼느맥밑랫럽갱뀐몇쉘킹쌍꼭킨폼"
    "핵끄묵휴끌망박좌떼왕콤군넷랩렌맷써천팝걸닥몬칩헝냄닉뜁봅쓴킷펴멘깨냐뛰랙몰뽑슷죽"
    "즉즘춥킴냈뿐왔큐팩낸던샘셰였흐힘뢰몽빨찬친켜곳광덜떻뜻옅옆캔둡렀룬씩탕득엄첩킵톱"
    "꺼끔샷센셔톰홀슨텐갔뀜떠벳승잃잉틸갖끼렛솔씀젼좋짙츠쉬웹잔콩킬퓨곤끕녹밝벡억춘겼"
    "긺꿔넓담샤웠춰튀희곱깜벵삼섞셈얕엽젠극럴삽썼엇착눈듦듬례묘악앱얄힐깔닛뒷뜨맴멍멧"
    "뺀셜익텔팡혔눕닐딸룩엑좀철첨탑펙혀괴꾼밈벌벽뺄쇼왈육츄켈퀴협꿨낡냥닝덧됐샨쉽싸쨌"
    "찰캄콰툼틱팬펜폰휘힙뀝념농둠멕싼씨앵얀얇죄쳤캡콥털풍픈헨깥낱놔눅뉘듯딘뛸밤봄빙빛"
    "섭셉싶쌓앨앰좁쪼캣켬퓌흔넌덩떨뭔믹밴샌옥웰윗첸퀵펀펌펠홍휠괌궈낭냉넥뇨늄닮띄렘멋"
    "묻뮤뮬빗쁘쁜솜엉잇쥴촉촐켰퀄툴펄폈풋헬혈흉갸겁곧굵껐꼬꽉뀔끈끗녁눔늦닿둬똑럿믿벼"
    "빅뺍셧셨씬앤엠윽졸찼척췄컷켭퀘톤핏훨흑겉곡귈깝껑돈돋둔딕딜딱뚜뚬롱멎몫밸벰봇붓뷔"
    "빡쁨삐섯옌옹왜욕읍잊좡쥬즐촨켄쿡탁탤탱턱텝튈튼틈팜퍽폐푼풉헴홑훅훼갤겪굳굴궜긋깐"
    "꺾꽤낌낙녕놀놈눠뉜뉩댜뎀듀듐딧땐뗄뚱뜹랄렙렵룸뤄륭맙먀몸뭄뭘밉밧뱅봐뺐삑샀샬샵셕"
    "쇠숙썸씌얏엣옷욤웍젤줘짯쩌쯤찌찍찮첵켤콴쾨퀸텟텡톨팀팁팽펭펼폿핫햇헙헷훌흰"
)
READINGS = (
    "가각간갈감갑강개객갱갹거건걸검겁게격견결겸경계고곡곤골공곶과곽관괄광괘괴굉교구국"
    "군굴궁권궐궤귀규균귤극근금급긍기긴길김끽나낙난날남납낭내녀년념녕노농뇌뇨눈눌뉴능"
    "니닉다단달담답당대댁덕도독돈돌동두둔득등라락란랄람랍랑래랭략량려력련렬렴렵령례로"
    "록론롱뢰료룡루류륙륜률륭륵름릉리린림립마막만말망매맥맹멱면멸명몌모목몰몽묘무묵문"
    "물미민밀박반발방배백번벌범법벽변별병보복본볼봉부북분불붕비빈빙사삭산살삼삽상새색"
    "생서석선설섬섭성세소속손솔송쇄쇠수숙순술숭슬습승시식신실심십쌍씨아악안알암압앙애"
    "액앵야약양어억언얼엄업엔여역연열염엽영예오옥온올옹와완왈왕왜외요욕용우욱운울웅원"
    "월위유육윤율융은을음읍응의이익인일임입잉자작잔잠잡장재쟁저적전절점접정제조족존졸"
    "종좌죄주죽준줄중즉즐즙증지직진질짐집징차착찬찰참창채책처척천철첨첩청체초촉촌총촬"
    "최추축춘출충췌취측층치칙친칠침칩칭쾌타탁탄탈탐탑탕태택탱터토통퇴투특틈파판팔패팽"
    "퍅편폄평폐포폭표품풍피필핍하학한할함합항해핵행향허헌헐험혁현혈혐협형혜호혹혼홀홍"
    "화확환활황회획횡효후훈훙훤훼휘휴휼흉흑흔흘흠흡흥희힐"
)
"""The 466 syllables of KS X 1001 that one hanja of KS X 1001 at least reads."""
SUPPLEMENT = (
    "가각간갈감갑강개객갱갹거건걸검겁게겨격견결겸경계고곡곤골공곶과곽관괄광괘괴굉교구"
    "국군굴궁권궐궤귀귓규균귤극근금급긍기긴길김깨꺼꼭꼽꿈끽나낙난날남납낭내녀년념녕노"
    "농뇌뇨눈눌뉴능니닉다닥단달담답당대댁덕덩도독돈돌동두둔드득등라락란랄람랍랑래랭략"
    "량려력련렬렴렵령례로록론롱뢰료룡루류륙륜률륭륵름릉릎리린림립마막만말망매맥맹머멱"
    "면멸명몌모목몰몸몽묘무묵문물미민밀바박반발방배백벅번벌범법벽변별병보복본볼봉부북"
    "분불붕비빈빙뺨뼈사삭산살삼삽상새색샘생서석선설섬섭성세소속손솔송쇄쇠수숙순술숭슬"
    "슴습승시식신실심십쌍썹씨아악안알암압앙애액앵야약양어억언얼엄업엉엔여역연열염엽영"
    "옆예오옥온올옹와완왈왕왜외요욕용우욱운울웅원월위유육윤율융은을음읍응의이익인일임"
    "입잇잉자작잔잠잡장재쟁저적전절점접정젖제조족존졸종좌죄주죽준줄중즉즐즙증지직진질"
    "짐집징차착찬찰참창채책처척천철첨첩청체초촉촌총촬최추축춘출충췌취측층치칙친칠침칩"
    "칭코콧쾌타탁탄탈탐탑탕태택탱터턱토톱통퇴투특틈파판팔패팽퍅편폄평폐포폭표풀품풍프"
    "피필핍하학한할함합항해핵행향허헌헐험혀혁현혈혐협형혜호혹혼홀홍화확환활황회획횡효"
    "후훈훙훤훼휘휴휼흉흑흔흘흠흡흥희힐"
)
"""The 466 syllables that 1 hanja of KS X 1001 or more read, and 31 more of
pure Korean body sites (a hand-written list), common whatever their rank (65 are not
ranked): Korean names, hospitals, diagnoses and places are Sino-Korean
(``benchmarks/hangul_frequency.py``, ``MIN_HANJA``)."""
PAIRS = (
    "값들값에값으갖는갖춥같는같으것들것에것으겟에겠으겹쳐겹쳤곳에곳으그갸그것그곳그까"
    "그냥그너그널그놈그는그늘그들그때그램그러그런그럼그렇그레그렌그렸그룹그를그릭그릴"
    "그먼그멘그붙그에그으글꼴글롭글에깃에깃으깅에깔끔깜빡깥에께에꼬릿꼴셋꼴에꽉찼꾸는"
    "꾸든꾸러꾸며꾸밈꾸밉꾸었꿀까꿀때꿔쓴뀌는뀌더뀌므뀌었끄는끄트끊겼끊었끊으끝까끝났"
    "끝낸끝낼끝냄끝냅끝냈끝없끝에끝으끼워났는낮춥낼까냅샷냈는냐에너뚬너뛰너뛸너뜀너뜁"
    "너를너에너쳐넌블넌트널를널링널에넓힘넘겼넘깁넘는넘었넘으넘쳐넘쳤넣는넣었넣으네그"
    "네덜네르네스네트네틱넥티넷스넷에놓았놓으누누누는누되누르누릅누벨누슈누크눅스눠졌"
    "느낌느냐느슨는데는롤늘릴닌케닌텐님으닫는닫았닫으닫혔닫히닫힘닮았더는더러더를더링"
    "더버더블더스더에더티더플더했덤핑덧붙데냐데는데를데몬데벨데스데에덱스덱싱델에됐느"
    "되는되더되며되므되었된멀둘러둘레둬들뒤따뒤떨뒤섞뒤에뒤쪽듀플듈들듈없듈에들때들러"
    "들며들었들에들였디는디든디레디렉디렘디롬디르디를디멀디버디베디벨디브디스디에디폴"
    "딕셔딩되딩된딩에딩으딩카따르따른따를따릅따옴때까때는때를때쓸때에떼었또는똑같뚜껑"
    "뛰는뛰었뜨렸뜨릴뜻밖띄는띄워랙잭랙젝랜스랜잭램들램에램옵램으랩스랩으랩퍼랫폼랫풋"
    "러그러낼러는러들러를러링러맵러므러스러싱러싸러싼러에러옵러왔러져러티럭션럭에럭으"
    "럭트런데런레런스럼들럼에럼으럽트럿에레딧레르레벨레셔레스레싱레젠레즈레케레크레트"
    "레티레퍼렉션렉스렉트렌더렌즈렌트렛팩렸는롤러롤에롭에롯에롯으룩셈룬디룰레룰에룹없"
    "룹에룹으룹핑륨에르겠르는르데르되르디르러르링르메르버르베르브르스르웨르첸르카르크"
    "르키르킨르턴르텔르트르티르헨르흐른값른쪽릭스릴때릴레릿에릿으링깃링되링스링에링으"
    "링커링크많으맞는맞았맞으맞춤맞춥맞춰맨페맴버맵버맵에맵퍼맵핑맷에맷으먼테먼트멀티"
    "멈줍멈춤멈춥멈춰멈췄멎었메룬메르메카메커메트메티멘데멘스멘테멘트멤버멧될멧에몇몇"
    "몬에몬크몬테몬트못됐못되못된못될못됨못찾못햇못했묶었뮬레밋같밋되밋된밋또밋에밋으"
    "밑에밑으밖까밖에밖으받는받았받으밝히밴스버그버글버깅버는버레버렸버를버릴버몬버뮤"
    "버블버쉽버스버에버젼버크버트버튼버퍼버플버헤베냉베네베딩베르베스베크베키베트베히"
    "벤큐벤트벨레벨링벨뿐벨칼벳에붙는붙었붙으뷔르뷰는뷰를뷰에뷰트브는브된브랜브러브런"
    "브롤브르브를브멤브버브셀브스브에브웨브젝브쿼브트브픽블들블랙블랫블럭블럼블레블롭"
    "블릿블링블스블에빌더빌러빔으빠르빠른빠져빠졌빼낼빼므뽑으뽑히뽑힌샤키샬링샷에샷으"
    "섞되섞었섞였섹션센션센스센트셀렉셀버셀에셀쿠셋에셋으셔너셔스션값션되션된션들션에"
    "션으셨었셰켈셰크셸에솜펭숨깁쉬뱅슈브슈스슈트슈티슈퍼스냅스너스는스될스됨스들스러"
    "스런스럽스레스를스맵스메스버스샌스스스에스왑스워스웨스쳐스카스칼스캐스캔스케스콜"
    "스쿠스퀘스퀴스크스키스킴스킹스탬스턴스털스테스텐스템스텝스톡스트스티스틱스팅스페"
    "스펙스폿스플스핀스했슨너싱글싱되싱에싱크싱턴싱했싶으썬에쓰는쓰레쓰촨쓸까않는않더"
    "않된않됨않았않으았는았더았던았었았으앞까앞뒤앞에앞으앞쪽앤티앤틸앰브앱에얏트얻는"
    "얻으없는없더없앨없앰없앱없었없으었는었던었었었으에는에디에러에르에뮬에베에스에에"
    "에웨에카에콰에트에티엑스엠블였는였으옛것옮깁옵를옵셋옵션옵티왔으왼쪽움될웁션웃으"
    "웃했워넣워둘워싱워져워졌워커워크워킹워티웨덴웹카윗쪽으며으므으셨으윽으즈으켰으키"
    "읽는읽되읽었읽으읽히읽힘읽힙잃었있네있는있더있던있었있으잊으잘렸잘못잭셕잭션잭셜"
    "젝션젝트젠테젤룸젯에져는져를져에져옴져옵져왔져있졌는졌으좀더쥴링즈넷즈를즈베즈에"
    "즈워즈키즘으짓으짜깁짜를짜에째는째든째에쨌든쪼갤쪽에쪽으찾는찾던찾았찾으첫째쳐씀"
    "쳐에쳐있쳐졌춤에츄럴츠를카누카렌카르카메카베카빌카슈카스카쿠카테카트칸스칸에칸으"
    "칸톤칼럼칼레칼에캐너캐논캐닝캐럿캐릭캐쉬캐스캐싱캔버캔으캘에캡션캡쳐커널커넥커닝"
    "커를커맨커맷커뮤커밋커버커브커스커져컨스컨테컨텍컨텐컨트컬러컬럼컬렉컬에컴팩컴퓨"
    "케냐케쥴켈트켓에켓으켜는켜져켜졌켰는콘셋콘에콘칸콘텍콘트콜레콜렉콜롬콜에콜트콥트"
    "콰냐쾨르쿠냐쿠르쿠웨쿠키쿠테퀀스퀄러퀘벡퀴를퀵픽큐를큐브큐에큐트크는크되크됨크레"
    "크롤크롬크를크맨크메크멘크스크에크펠큰따큰에큰으클랜클램클러클럭클릭클링클에키값"
    "키네키는키르키를키릴키맵키스키에키워키츠키카키쿠키텍킬릭킴에킷에킹되킹된킹됨킹했"
    "탤릭탬핑탭에탭으턴값턴룰턴스턴에턴으턴했털링테네테레테르테스테툼테퍼텍스텍쳐텐션"
    "텐슈텐츠텐트텔레템네템에템으템플톰슨톰에툴킷튀는튀르튜닝튜브튜플트값트그트는트되"
    "트된트될트됨트디트랙트랜트랩트럭트럼트럽트레트롤트를트릭트맵트뷰트스트씩트에트워"
    "트웍트웨트으트키트픽트했트헬튼먼틀랜틀렸틀링티그티는티를티베티브티션티스티쓰티칸"
    "티칼티캐티컬티컷티클티튜티트티티티팩티폴티플틴에틸러틸레팅에팜팡팩스팩커팩트팬딩"
    "팬폴퍼는퍼런퍼레퍼를퍼링퍼빌퍼센퍼스퍼에퍼텍펄에펌웨페르페스펙에펙트펠레펴봅폰페"
    "폴더폴레폴링폴트폼에푸는푸르푸쉬푸스푸에퓌크퓌튀플랩플랫플러플레플렉플렛플릿플링"
    "플에픽셀픽스픽에핀에핏케핑되핑된핑됨핑에핫스핸들했는했더했던했었했으헝크헤더헤딩"
    "헤레헤르헤브헤티헨들헨티헬레헬퍼홈페홑따훨씬휠던흐른흐스히는히브히스히텐히트히티"
    "힌트힌팅힘에"
)
"""The 1,083 pairs of syllables, neither in ``SUPPLEMENT``, that the catalogues write one
after the other (``PAIRS[2 * i : 2 * i + 2]``): pure Korean and loanwords' syllables seen
together (``스트``, ``버튼``, ``없는``), for a reading of two syllables (``dqm.batch.PAIR_SYLLABLES``)."""
