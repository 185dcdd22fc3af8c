"""Korean words a pathology manifest writes and software catalogues do not, written by hand in
session 24. Only ``BODY_SITES`` still makes the supplement to the syllable-frequency table
(``dqm/hangul_syllables.py``'s ``SUPPLEMENT``, made by ``benchmarks/hangul_frequency.py``): pure
Korean body sites are in no text on this machine. The supplement's other syllables are derived
from data (the syllables a hanja of KS X 1001 reads); the other lists are test words of
``benchmarks/cp949_guess_cv.py --by-source`` (its ``memory24`` source).

Written by hand from knowledge, not downloaded; each list says what it follows and its bias.
The CP949 guess only asks whether a syllable is among the common ones, so these lists add the
syllables of names, body sites, diagnoses and places that the message catalogues lack
(``훈``, ``혁``, ``숙``, ``맹``, ``굴``, ``릉``). ``benchmarks/cp949_guess_cv.py`` tests on other
words (its held-out lists): no word stands in both.
"""

from __future__ import annotations


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


SURNAMES = _words("""
김 이 박 최 정 강 조 윤 장 임 한 오 서 신 권 황 안 송 전 홍 유 고 문 양 손 배 백 허 남 심 노 하 곽 성
차 주 우 구 민 류 나 진 지 엄 채 원 천 방 공 현 함 변 염 여 추 도 소 석 선 설 마 길 연 위 표 명 기 반
라 왕 금 옥 육 인 맹 제 모 탁 국 어 은 편 용 예 경 봉 사 부 가 복 태 목 형 피 두 감 호 빈 동 온 시
남궁 황보 제갈 선우 독고 사공 서문 동방
""")
"""About the 110 most common surnames of the 2015 census (통계청 인구주택총조사, 성씨·본관), in
about that order, and its two-syllable ones. Bias: from memory; the rarest ones may be misranked."""

GIVEN_NAMES = _words("""
영자 정자 순자 춘자 경자 옥자 영숙 정숙 명숙 경숙 말순 옥순 순옥 복순 영희 정희 순희 숙자 금순 점순
영수 영호 영식 정수 상철 성수 영철 광수 정호 종수 병철 용수 춘식 만수 기철 덕수 봉수 길수
미숙 미경 경희 은희 현숙 영미 혜숙 선희 미자 인숙 미영 정미 혜경 성희 명희 옥희
성호 성훈 영진 상훈 재훈 정훈 동욱 성욱 재웅 정웅 상욱 동철 재혁 광호 병헌 재헌 동헌
은정 은주 지영 혜진 수진 미정 현정 은영 선영 지연 혜원 윤희 현주 경아 보영
성진 상현 준호 성민 지훈 동훈 준혁 승훈 정환 태훈 영훈 민혁 성혁 재원 동규 상우 진우 현석
지혜 지은 은지 민정 소연 유진 민지 수빈 지현 예진 혜린 다은 수정 가영 나연 예슬
성현 현우 준영 민수 동현 정민 현준 승현 민준 우진 건우 준서 도현 시우 하준 도윤 서준 예준 주원 지호
서연 민서 지민 서현 예은 수민 서윤 지우 하윤 하은 지유 채원 지아 수아 윤서 다인 소율 아린
하늘 보람 슬기 한별 나래 새롬 아름 초롱 누리 다솜
""")
"""About 200 given names, most common by birth decade from the 1940s to the 2010s, as the Supreme
Court's birth-registration name statistics (대법원 전자가족관계등록시스템, 출생신고 이름 순위) and
press summaries of them give them, men's and women's, and a few pure Korean ones. Bias: from
memory; common names only, so a rare given syllable is missed; the older generations' names
are fewer here than their share of today's adults."""

BODY_SITES = _words("""
머리 두피 이마 얼굴 눈 눈꺼풀 눈썹 코 콧망울 뺨 볼 입 입술 혀 잇몸 귀 귓불 턱 목 어깨 팔 위팔 아래팔
팔꿈치 손목 손 손등 손바닥 손가락 손톱 가슴 유방 젖꼭지 유륜 배 복부 배꼽 등 허리 옆구리 엉덩이 둔부
사타구니 서혜부 외음부 음낭 음경 항문 항문주위 다리 허벅지 대퇴부 무릎 정강이 종아리 발목 발 발등
발바닥 발가락 발톱 몸통 체간 사지 상지 하지 두경부 겨드랑이 액와 쇄골 흉부 흉벽 요부 천골부 회음부
구강 점막 피부 표피 진피 피하 피하지방 모낭 한선 피지선 손발톱 안면 측두부 후두부 전두부 두정부
맹장 충수 위 식도 간 담낭 췌장 비장 신장 방광 전립선 자궁 난소 갑상선 폐 심장 대장 소장 십이지장
결장 림프절 편도 침샘 이하선 연부조직 근육 뼈 골수 연골 혈관 신경
""")
"""Body sites and organs a specimen's site column names (피부과 and general surgical pathology).
Bias: one writer's list; the Sino-Korean terms of the Korean anatomy terminology and everyday
words mixed, as request forms mix them."""

DIAGNOSES = _words("""
기저세포암 편평세포암 편평상피세포암 흑색종 악성흑색종 보웬병 광선각화증 지루각화증 표피낭종 모낭낭종
피지낭종 피부섬유종 혈관종 화농성육아종 지방종 신경섬유종 신경초종 색소모반 멜라닌세포모반 선천성모반
청색모반 스피츠모반 이형성모반 켈로이드 비대흉터 건선 습진 아토피피부염 접촉피부염 지루피부염 편평태선
홍반루푸스 원판상루푸스 피부근염 경피증 반상경피증 수포성유천포창 심상성천포창 포진상피부염 백반증 사마귀
전염성물렁종 대상포진 단순포진 모낭염 봉와직염 농가진 진균감염 백선 칸디다증 한관종 비립종 모기질종
균상식육종 카포시육종 메르켈세포암 융기성피부섬유육종 혈관육종 결절성홍반 다형홍반 환상육아종 유육종증
혈관염 두드러기 여드름 탈모 원형탈모 각화극세포종 피지선증식증 흑자 악성흑자 주근깨 기미 검버섯 무좀
티눈 굳은살 종양 낭종 결절 궤양 미란 가피 인설 구진 반점 수포 농포 팽진 염증 육아종 이형성 상피내암
침윤성 미세침윤 절제연 양성 악성 경계성 재발 잔존 림프구 호산구 호중구 비만세포 괴사 석회화 섬유화
충수염 담석 용종 선종 폐색 천공 농양 누공 탈장 치핵 치루
""")
"""Diagnoses and findings of dermatopathology and common surgical pathology, in Korean (the
Korean Dermatological Association's and the pathology society's terms as one writer recalls
them). Bias: skin-heavy, as dqm's lesion datasets are."""

PLACES = _words("""
서울 부산 대구 인천 광주 대전 울산 세종 제주 서귀포 수원 성남 고양 용인 부천 안산 안양 남양주 화성
평택 의정부 시흥 파주 김포 광명 군포 하남 오산 이천 안성 의왕 양주 포천 여주 동두천 과천 가평 양평
연천 춘천 원주 강릉 동해 태백 속초 삼척 홍천 횡성 영월 평창 정선 철원 화천 양구 인제 고성 양양 청주
충주 제천 보은 옥천 영동 증평 진천 괴산 음성 단양 천안 공주 보령 아산 서산 논산 계룡 당진 금산 부여
서천 청양 홍성 예산 태안 전주 군산 익산 정읍 남원 김제 완주 진안 무주 장수 임실 순창 고창 부안 목포
여수 순천 나주 광양 담양 곡성 구례 고흥 보성 화순 장흥 강진 해남 영암 무안 함평 영광 장성 완도 진도
신안 포항 경주 김천 안동 구미 영주 영천 상주 문경 경산 군위 의성 청송 영양 영덕 청도 고령 성주 칠곡
예천 봉화 울진 울릉 창원 진주 통영 사천 김해 밀양 거제 양산 의령 함안 창녕 남해 하동 산청 함양 거창
합천
""")
"""The special and metropolitan cities and the 시·군 of South Korea (the administrative division
list, 시·군 level, as of the 2020s), recalled; 구 and 읍·면 names are left out."""

HOSPITAL_WORDS = _words("""
병원 의원 의료원 대학교 대학병원 대학교병원 병리과 병리학교실 진단병리과 피부과 외과 내과 암센터 검진센터
보건소 보훈병원 적십자병원 국립 시립 도립 성모 아산 세브란스 가톨릭 기독 백병원 길병원 성심 을지 순천향
한림 건양 동산 복음 메디컬센터 의과대학 의학전문대학원 연구소 분원 본원 협력병원 전문병원 요양병원
""")
"""Words of Korean hospital and department names (the tertiary hospitals' and their foundations')."""

LISTS = {
    "surnames": SURNAMES,
    "given names": GIVEN_NAMES,
    "body sites": BODY_SITES,
    "diagnoses": DIAGNOSES,
    "places": PLACES,
    "hospital words": HOSPITAL_WORDS,
}
WORDS = frozenset(word for words in LISTS.values() for word in words)
"""Every word the supplement is made from (the CV's held-out lists must hold none of them)."""
